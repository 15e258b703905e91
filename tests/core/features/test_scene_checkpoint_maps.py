"""A Training Monitor scene checkpoint in Feature Maps: the FCN's layers and its picture-level class shares,
the detector's backbone on the frame as the detector normalizes it."""

from __future__ import annotations

import numpy as np
import torch
from scene_checkpoints import CLASS_NAMES, normalize_of, save_tiny_checkpoint

from visionlab.core.features.viewer import model_input, open_model, view_layer


def test_fcn_opens_with_its_layers_and_its_share_of_each_class(tmp_path):
    path, fcn = save_tiny_checkpoint(tmp_path / "segment.pt", "segment")
    opened = open_model(str(path))
    loaded = opened.loaded
    assert loaded.pretrained and loaded.categories == CLASS_NAMES and loaded.input_shape == (3, 120, 160)
    assert opened.sample_image.shape == (120, 160, 3)  # a shape scene of its own frame size
    assert {"encoder.0.0", "classifier"} <= set(opened.summary.by_name)  # the checkpoint's own layer names
    view = view_layer(loaded, opened.sample_image, "encoder.0.0", predict=True)
    _, batch = model_input(loaded, opened.sample_image)
    normalize = normalize_of(path)
    pixels = torch.from_numpy(opened.sample_image).permute(2, 0, 1)[None].float() / 255
    expected_batch = (pixels - torch.tensor(normalize["mean"]).view(1, 3, 1, 1)) / torch.tensor(
        normalize["std"]).view(1, 3, 1, 1)
    torch.testing.assert_close(batch, expected_batch, atol=1e-5, rtol=0)
    with torch.inference_mode():
        shares = fcn(expected_batch)["out"].softmax(1).mean(dim=(2, 3))[0].numpy()
        first_conv = fcn.encoder[0][0](expected_batch)[0].numpy()
    best = np.argsort(-shares)[:5]
    assert [p.index for p in view.predictions] == list(best)
    np.testing.assert_allclose([p.probability for p in view.predictions], shares[best], rtol=1e-4)
    np.testing.assert_allclose(view.activation, first_conv, atol=1e-4)
    assert view.cam is not None and view.cam.shape == (120, 160)
    # The note says what the first layer really receives (the FCN pads first), seen by a torch hook.
    seen = []
    hook = fcn.encoder[0][0].register_forward_hook(lambda _m, args, _out: seen.append(tuple(args[0].shape[-2:])))
    with torch.inference_mode():
        fcn(expected_batch)
    hook.remove()
    assert seen[0] == (120, 160) and "pads" not in loaded.note  # this one's stride divides 120: nothing to say


def test_the_note_says_when_the_fcn_pads_the_picture_before_its_first_layer():
    from visionlab.core.features.scene_models import _segmenter_note
    from visionlab.core.training.scenes.fcn import build_segmenter

    fcn = build_segmenter({"name": "fcn", "width": 4, "levels": 5, "skips": 2}, len(CLASS_NAMES)).eval()
    seen = []
    hook = fcn.encoder[0][0].register_forward_hook(lambda _m, args, _out: seen.append(tuple(args[0].shape[-2:])))
    with torch.inference_mode():
        fcn(torch.zeros(1, 3, 120, 160))
    hook.remove()
    assert seen[0] != (120, 160)  # stride 32 does not divide 120
    assert f"a 120×160 picture enters its first layer as {seen[0][0]}×{seen[0][1]}" in _segmenter_note(
        fcn, (3, 120, 160), "segment.pt")


def test_detector_opens_as_its_backbone_without_a_top5(tmp_path):
    path, detector = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    opened = open_model(str(path))
    loaded = opened.loaded
    assert loaded.model is not None and "stride2.0" in opened.summary.by_name
    view = view_layer(loaded, opened.sample_image, "smooth", predict=True)
    assert view.predictions == [] and "Live Camera" in loaded.scores_note
    # The backbone on the frame normalized by the detector's own transform (which also pads the batch to a
    # multiple of 32 rows, 120 -> 128: the viewer shows the frame itself, without those rows).
    with torch.inference_mode():
        images, _ = detector.transform([torch.from_numpy(opened.sample_image).permute(2, 0, 1).float() / 255])
        assert images.image_sizes == [(120, 160)]
        expected = detector.backbone(images.tensors[..., :120, :160])[0].numpy()
    np.testing.assert_allclose(view.activation, expected, atol=1e-4)
