"""The Live Camera's lessons: segmentation and detection, FCN, R-CNN, Faster R-CNN, anchors, RoI pooling."""

from __future__ import annotations

from visionlab.core.i18n import N_
from visionlab.core.lessons import camera_claims as claims
from visionlab.core.lessons.model import Lesson, Task

VISION = N_("Vision applications")
SEGMENTERS = ("lraspp", "deeplab", "fcn", "maskrcnn")


def _is_segmenter(name) -> bool:
    return bool(name) and str(name).startswith(SEGMENTERS)


LESSONS = (
    Lesson(
        "seg_vs_det", VISION, N_("Classification, detection and segmentation"),
        N_("Classification names what is in a picture; detection also says where, with a box and a class for each "
           "object; semantic segmentation gives every pixel a class. The camera runs detectors and segmenters "
           "live on the same frames, so the three kinds of answer can be compared."),
        "", "camera", {"model": claims.DETECTOR, "tab": "live"},
        N_("The overlay on the picture: boxes for a detector, coloured pixels for a segmenter."), "view",
        (Task("segmenter", N_("Switch the model to a segmenter (for example LR-ASPP) and see boxes become a "
                              "colour per pixel."),
              lambda s: _is_segmenter(s.get("model"))),),
        claims.seg_vs_det),
    Lesson(
        "fcn", VISION, N_("FCN and deconvolution"),
        N_("A fully convolutional network (FCN) replaces the fully connected layers of a classifier by 1×1 "
           "convolutions, so the output keeps its positions: a coarse map of class scores, which is then "
           "upsampled back to the image size. Deconvolution (transposed convolution) is one way to upsample: it "
           "puts zeros around each input pixel and convolves. Feature Maps' “Convolution explained” tab steps "
           "through it."),
        "W2 = (W1 − 1)·S − 2P + F", "camera", {"model": claims.SEGMENTER, "tab": "inside"},
        N_("Inside the model, once the frame is analysed: the score map of LR-ASPP (a light fully convolutional "
           "segmenter), one class per pixel."), "inside",
        (Task("analyse", N_("Press “Pause and analyse this frame” in Inside the model with a segmenter running."),
              lambda s: s.get("inside") == "segmentation"),),
        claims.fcn),
    Lesson(
        "rcnn", VISION, N_("R-CNN"),
        N_("R-CNN first proposes about 2000 regions with selective search, which merges similar neighbouring "
           "patches of the image. Each region is warped to a fixed size and passed through a CNN (AlexNet), and an "
           "SVM classifies its features. It is slow, one CNN run per region, and its parts are trained "
           "separately, not end to end."),
        "", "camera", {"model": claims.DETECTOR, "tab": "proposals"},
        N_("The Proposals tab: selective search's boxes beside the RPN's, and the time each took."), "proposals",
        (Task("search", N_("Press “Propose on this frame” in the Proposals tab: selective search and the RPN run "
                           "on one frame."),
              lambda s: s.get("proposals", False)),),
        claims.rcnn),
    Lesson(
        "faster_rcnn", VISION, N_("Faster R-CNN"),
        N_("Faster R-CNN runs the backbone CNN once per image. A region proposal network (RPN) reads the feature "
           "maps and proposes regions; RoI pooling cuts each region out of the same feature maps, and a head "
           "refines its class and box. Everything is one network, trained end to end."),
        "", "camera", {"model": claims.DETECTOR, "tab": "inside"},
        N_("Inside the model: from anchors to proposals to detections, with their counts."), "inside",
        (Task("inside", N_("Press “Pause and analyse this frame” in Inside the model with Faster R-CNN running."),
              lambda s: s.get("inside") == "rcnn"),),
        claims.faster_rcnn),
    Lesson(
        "rpn_anchors", VISION, N_("Region proposal network and anchors"),
        N_("The RPN slides a 3×3 convolution over the feature map. At each position it considers k anchor boxes of "
           "several sizes and aspect ratios, and predicts for each an objectness score (object or background) and "
           "4 offsets that move and stretch the anchor into a proposal."),
        "cls: k,  reg: 4k  (× H·W)", "camera", {"model": claims.DETECTOR, "tab": "inside"},
        N_("The anchor picture in Inside the model: the k anchors of one position."), "inside",
        (Task("anchors", N_("Analyse a frame and look at the anchors and the objectness map of each level."),
              lambda s: s.get("inside") == "rcnn"),),
        claims.rpn_anchors),
    Lesson(
        "roi_pooling", VISION, N_("RoI pooling"),
        N_("RoI pooling projects each proposal onto the feature map, splits it into a fixed grid (7×7) and keeps "
           "the maximum of each cell, so regions of any size give features of one size for the head. It rounds "
           "the box to whole cells; torchvision's detectors use RoIAlign instead, which samples the map "
           "bilinearly without rounding. The Proposals tab compares the two."),
        "y[i, j] = max { x[h, w] : (h, w) ∈ bin(i, j) }", "camera", {"model": claims.DETECTOR, "tab": "proposals"},
        N_("The RoI comparison in the Proposals tab: pooling's bins against RoIAlign's sample points."), "proposals",
        (Task("compare", N_("Pick a proposal in the Proposals tab and compare RoI pooling with RoIAlign."),
              lambda s: s.get("roi_compared", False)),),
        claims.roi_pooling),
)
