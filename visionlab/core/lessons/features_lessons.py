"""Feature Maps' lessons: convolution, pooling, padding and stride, the formulas, and the modern CNNs."""

from __future__ import annotations

from visionlab.core.i18n import N_
from visionlab.core.lessons import features_claims as claims
from visionlab.core.lessons.model import Lesson, Task

CONV = N_("Convolution")
CNNS = N_("Modern CNNs")
# The explainer's modes, by position in its box (qt/features/explainer.py MODES).
CONV_ONE, CONV_RGB, CONV_SEVERAL, MAX_POOL, AVG_POOL, ONE_BY_ONE, TRANSPOSED, FIVE_VS_THREE = range(8)


def _explainer(snapshot, mode: int) -> bool:
    return snapshot.get("tab") == "explainer" and snapshot.get("mode") == mode


def _stepped_through(snapshot, mode: int) -> bool:
    return _explainer(snapshot, mode) and snapshot.get("total", 0) > 0 and snapshot.get("step") == snapshot["total"]


LESSONS = (
    Lesson(
        "convolution", CONV, N_("Convolution"),
        N_("A convolution stamps a small kernel across the image. At each position it multiplies the kernel with "
           "the pixels under it, element by element, and adds the products up: one number of the output map. "
           "The same kernel is used everywhere, so a kernel that responds to a vertical edge finds vertical edges "
           "anywhere in the picture."),
        "y[i, j] = Σ_u Σ_v w[u, v] · x[i + u, j + v] + b", "features",
        {"model": "alexnet", "tab": "explainer", "mode": CONV_ONE, "stride": 1, "padding": 0},
        N_("The products written under the grids for the highlighted window, and the output value they add up to."),
        "explainer",
        (Task("step_all", N_("Step the convolution through to its last output value."),
              lambda s: _stepped_through(s, CONV_ONE)),),
        claims.convolution),
    Lesson(
        "rgb_convolution", CONV, N_("Convolution of an RGB image"),
        N_("A colour image has three channels, so each kernel has three channels too: it convolves each input "
           "channel with its own slice and adds the three results into one output map. K kernels give K output "
           "channels, whatever the number of input channels."),
        "y_k = Σ_c w_k,c ∗ x_c + b_k,  D2 = K", "features",
        {"model": "alexnet", "tab": "explainer", "mode": CONV_RGB, "stride": 1, "padding": 0},
        N_("The three channel sums in brackets, added into one output number."), "explainer",
        (Task("rgb_through", N_("Step the RGB convolution through to its last output value."),
              lambda s: _stepped_through(s, CONV_RGB)),
         Task("several", N_("Switch to “Several kernels → several channels” and count the output maps."),
              lambda s: _explainer(s, CONV_SEVERAL))),
        claims.rgb_convolution),
    Lesson(
        "pooling", CONV, N_("Pooling"),
        N_("Pooling summarises each small window by its maximum (max pooling) or its mean (average pooling). It "
           "has no parameters to learn and works on each channel separately, so the number of channels stays "
           "the same while the map gets smaller."),
        "y[i, j] = max { x[u, v] : (u, v) ∈ W(i, j) }  |  mean { … }", "features",
        {"model": "alexnet", "tab": "explainer", "mode": MAX_POOL, "stride": 2, "padding": 0},
        N_("The window's values and the one that is kept."), "explainer",
        (Task("overlap", N_("Set the pooling stride to 1: the windows overlap and the output grows to 5×5."),
              lambda s: s.get("tab") == "explainer" and s.get("mode") in (MAX_POOL, AVG_POOL) and
              s.get("stride") == 1 and s.get("output") == (5, 5)),),
        claims.pooling),
    Lesson(
        "padding_stride", CONV, N_("Padding and stride"),
        N_("Without padding, every convolution trims the border: a 3×3 kernel makes a 6×6 map 4×4. Padding adds "
           "a frame of zeros so the size is kept. The stride is how far the kernel jumps: stride S shrinks each "
           "side about S times, the area about S² times."),
        "W2 = (W1 − F + 2P)/S + 1", "features",
        {"model": "alexnet", "tab": "explainer", "mode": CONV_ONE, "stride": 1, "padding": 0},
        N_("The padding P and stride S boxes above the grids, and the output size in the formula below."),
        "explainer",
        (Task("same", N_("Find the padding and stride that keep the 6×6 input at 6×6."),
              lambda s: _explainer(s, CONV_ONE) and s.get("output") == (6, 6)),
         Task("two", N_("Find the padding and stride that make the output 2×2."),
              lambda s: _explainer(s, CONV_ONE) and s.get("output") == (2, 2))),
        claims.padding_stride),
    Lesson(
        "output_size", CONV, N_("Output size and number of parameters"),
        N_("For an input of W1×H1×D1 and K kernels of F×F with stride S and padding P, the output is W2×H2×K and "
           "the layer learns (F·F·D1)·K weights plus K biases. The layer list gives every layer's input and "
           "output shape and its parameters, and the formula box shows the arithmetic for the selected layer."),
        "W2 = (W1 − F + 2P)/S + 1;  D2 = K;  params = (F·F·D1)·K + K", "features",
        {"model": "alexnet", "layer": "features.0", "tab": "maps"},
        N_("The formula box under the input picture: AlexNet's conv1 turns 224×224×3 into 55×55×64."), "formula",
        (Task("conv2", N_("Select AlexNet's second conv layer (features.3) and read its output size."),
              lambda s: s.get("model") == "alexnet" and s.get("layer") == "features.3"),),
        claims.output_size),
    Lesson(
        "imagenet", CNNS, N_("ImageNet and ILSVRC"),
        N_("ImageNet is a data set of millions of labelled photos; its yearly challenge, ILSVRC, asked for one of "
           "1000 classes per photo. AlexNet's win in 2012 started the modern CNNs, and VGG, GoogLeNet and ResNet "
           "followed in the next years. The models here have the challenge's 1000 outputs; without their "
           "published weights (a download) they are untrained, and the app says so."),
        "", "features", {"model": "resnet18", "layer": "fc", "tab": "maps"},
        N_("The top-5 box on the right, which names ImageNet classes."), "predictions",
        (Task("other_model", N_("Open another ImageNet model in the model box (for example vgg16)."),
              lambda s: s.get("model") not in (None, "resnet18") and s.get("classes") == 1000),),
        claims.imagenet),
    Lesson(
        "alexnet", CNNS, N_("AlexNet"),
        N_("AlexNet has five conv layers and three fully connected ones, ReLU activations, local response "
           "normalization, dropout, and training-time augmentation by crops and mirroring; it was trained split "
           "over two GPUs. Most of its parameters sit in the fully connected layers. torchvision's version is a "
           "single tower without local response normalization: the panel lists these differences."),
        "", "features", {"model": "alexnet", "layer": "features.0", "tab": "maps"},
        N_("The totals line under the layer list: conv against fully connected parameters."), "totals",
        (Task("fc6", N_("Select the first fully connected layer (classifier.1) and read its parameter count."),
              lambda s: s.get("model") == "alexnet" and s.get("layer") == "classifier.1"),),
        claims.alexnet),
    Lesson(
        "vgg", CNNS, N_("VGG"),
        N_("VGG uses only 3×3 kernels and goes deeper. Two stacked 3×3 convolutions see a 5×5 patch, like one 5×5 "
           "kernel, with fewer weights (18 against 25 per channel pair) and one more non-linearity between them."),
        "2·(3·3) = 18 < 5·5 = 25", "features",
        {"model": "vgg16", "tab": "explainer", "mode": FIVE_VS_THREE, "stride": 1, "padding": 0},
        N_("The weight counts of one 5×5 and two 3×3 in the “Convolution explained” tab."), "explainer",
        (Task("vgg_layers", N_("Back on the feature maps, select a layer of VGG-16's third block (features.10 or "
                               "later) and see how small its maps have become."),
              lambda s: s.get("model") == "vgg16" and s.get("layer", "").startswith("features.") and
              s["layer"].split(".")[1].isdigit() and int(s["layer"].split(".")[1]) >= 10),),
        claims.vgg),
    Lesson(
        "googlenet", CNNS, N_("GoogLeNet and 1×1 convolution"),
        N_("GoogLeNet's inception modules run 1×1, 3×3 and 5×5 convolutions and a pooling side by side and stack "
           "their outputs. A 1×1 convolution mixes the channels at each position without looking at neighbours, "
           "so it reduces 8×m×n to 4×m×n with four 8×1×1 kernels, which makes the larger branches cheap. The idea "
           "grows out of Network in Network, and the net ends in global average pooling."),
        "y_k[i, j] = Σ_c w_k,c · x_c[i, j]", "features",
        {"model": "googlenet", "tab": "explainer", "mode": ONE_BY_ONE, "stride": 1, "padding": 0},
        N_("The 8 input channels of one position and the 4 numbers they become."), "explainer",
        (Task("one_through", N_("Step the 1×1 convolution through to its last output value."),
              lambda s: _stepped_through(s, ONE_BY_ONE)),),
        claims.googlenet),
    Lesson(
        "resnet", CNNS, N_("ResNet"),
        N_("ResNet adds shortcut connections: a block learns a correction F(x) and outputs F(x) + x, so a very deep "
           "net can still pass its signal and gradient through. It uses 3×3 kernels, batch normalization instead "
           "of dropout, and global average pooling instead of large fully connected layers."),
        "y = ReLU(F(x) + x)", "features", {"model": "resnet18", "layer": "layer1.0", "tab": "maps"},
        N_("The layer list: each BasicBlock of layer1 … layer4 is one residual block."), "tree",
        (Task("deep_block", N_("Select a block of layer4 and compare the size of its maps with layer1's."),
              lambda s: s.get("model") == "resnet18" and s.get("layer", "").startswith("layer4")),),
        claims.resnet),
)
