"""Test-time augmentation against torchvision's own five_crop / ten_crop and resize, and sklearn's accuracy."""

import pytest
import torch
import torchvision.transforms.functional as TF
from sklearn.metrics import accuracy_score
from torchvision.transforms import InterpolationMode

from visionlab.core.training import monitor
from visionlab.core.training.models import ModelSpec, build_model
from visionlab.core.training.tta import TTAError, run_tta, tta_line, tta_predict, tta_report


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(ModelSpec("LeNet-5", width=6, depth=2, batch_norm=True), (3, 16, 16), 5).eval()


def _reference(model, images: torch.Tensor, crop: int, mirrors: bool) -> torch.Tensor:
    """The averaged softmax, by hand: torchvision's crops, each resized back to 16×16."""
    crops = TF.ten_crop(images, [crop, crop]) if mirrors else TF.five_crop(images, [crop, crop])
    with torch.no_grad():
        probabilities = [torch.softmax(model(TF.resize(view, [16, 16], InterpolationMode.BILINEAR,
                                                       antialias=False)), dim=1) for view in crops]
    return torch.stack(probabilities).mean(dim=0)


def test_one_view_of_the_whole_image_is_the_plain_prediction(model):
    images = torch.randn(7, 3, 16, 16)
    with torch.no_grad():
        plain = torch.softmax(model(images), dim=1)
    torch.testing.assert_close(tta_predict(model, images, "one", 1.0), plain)


@pytest.mark.parametrize(("crops", "mirrors"), [("ten", True), ("five", False)])
def test_crops_average_like_torchvision_crops_and_resize(model, crops, mirrors):
    images = torch.randn(6, 3, 16, 16)
    expected = _reference(model, images, round(16 * 0.875), mirrors)  # 14×14 crops
    torch.testing.assert_close(tta_predict(model, images, crops, 0.875), expected, atol=1e-6, rtol=1e-5)


def test_report_accuracies_are_sklearns_on_the_argmaxes(model):
    torch.manual_seed(1)
    images, labels = torch.randn(40, 3, 16, 16), torch.randint(0, 5, (40,))
    report = tta_report(model, images, labels, "ten", 0.75)
    with torch.no_grad():
        plain = model(images).argmax(1)
    averaged = _reference(model, images, 12, mirrors=True).argmax(1)
    assert report["plain_acc"] == pytest.approx(accuracy_score(labels, plain))
    assert report["tta_acc"] == pytest.approx(accuracy_score(labels, averaged))
    assert (report["views"], report["count"]) == (10, 40)


def test_bad_settings_are_refused_in_a_sentence(model):
    with pytest.raises(TTAError, match="crop fraction"):
        tta_predict(model, torch.zeros(1, 3, 16, 16), "ten", 1.5)
    with pytest.raises(TTAError, match="no test images"):
        tta_report(model, torch.zeros(0, 3, 16, 16), torch.zeros(0, dtype=torch.long))


def test_a_finished_runs_test_share_gives_the_runs_own_test_accuracy():
    """The plain view on best.pt equals the trainer's own test evaluation (restored best weights)."""
    events = []
    config = monitor.TrainConfig(dataset="digits", epochs=2, batch_size=64, model=ModelSpec("MLP", width=8, depth=1),
                                 optimizer_params={"lr": 0.05})
    monitor.train_run(config, events.append, lambda: False)
    started = next(e for e in events if isinstance(e, monitor.RunStarted))
    finished = next(e for e in events if isinstance(e, monitor.Finished))
    result = run_tta(started.run.folder)
    assert result["ten"]["count"] == finished.test_count == 180
    assert finished.weights_epoch == result["epoch"]  # best.pt holds the weights the final line measured
    assert result["ten"]["plain_acc"] == pytest.approx(finished.test_acc)
    assert result["five"]["plain_acc"] == pytest.approx(finished.test_acc)
    line = tta_line(result)
    assert f"{result['ten']['plain_acc']:.1%}" in line and f"{result['ten']['tta_acc']:.1%}" in line
    assert line.startswith("On 180 held-out test images")


def test_the_line_names_a_one_image_change_instead_of_plus_zero_points():
    """5000 test images: one more right is 0.02 points, which '+0.0 points' would hide as 'no change'."""
    def report(right_plain: int, right_tta: int) -> dict:
        return {"plain_acc": right_plain / 5000, "tta_acc": right_tta / 5000, "views": 10, "count": 5000,
                "crop_fraction": 0.875}

    line = tta_line({"five": report(4000, 4001), "ten": report(4000, 3900), "epoch": 3})
    assert "5 crops averaged 80.0% (+1 image)" in line  # 4001/5000 = 80.02%
    assert "10 crops and mirrors averaged 78.0% (−2.0 points)" in line  # (3900 − 4000)/5000
    assert "(same)" in tta_line({"five": report(10, 10), "ten": report(10, 10), "epoch": 1})


def test_a_loss_says_what_each_view_is_in_the_images_pixels():
    """On 8×8 digits a 0.875 crop keeps 7×7 pixels (torchvision's center_crop of 7 agrees)."""
    from torchvision.transforms.functional import center_crop

    side = center_crop(torch.zeros(1, 8, 8), [round(8 * 0.875)]).shape[-1]
    def report(plain: float, tta: float) -> dict:
        return {"plain_acc": plain, "tta_acc": tta, "views": 10, "count": 100, "crop_fraction": 0.875,
                "image_size": (8, 8)}

    lost = tta_line({"five": report(0.95, 0.84), "ten": report(0.95, 0.71), "epoch": 3})
    assert f"Lost here: each view is a {side}×{side} crop of the 8×8 image" in lost
    assert "Lost here" not in tta_line({"five": report(0.9, 0.92), "ten": report(0.9, 0.91), "epoch": 3})
