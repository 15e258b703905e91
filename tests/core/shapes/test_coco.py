"""COCO folders checked by COCO's own API (pycocotools.coco.COCO), and folders made elsewhere read back."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from visionlab.core.errors import UserError
from visionlab.core.shapes import CLASSES, make_scenes
from visionlab.core.shapes.coco import read_coco, write_coco

# pycocotools 2.0.11's own decoder (annToMask) warns about numpy 2's copy keyword; harmless here.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coco")
    scenes = make_scenes(25, seed=5)
    write_coco(folder, scenes)
    return folder, scenes


def test_pycocotools_reads_what_was_written(written) -> None:
    folder, scenes = written
    coco = COCO(str(folder / "annotations.json"))
    assert [category["name"] for category in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    assert coco.getCatIds() == list(range(1, len(CLASSES) + 1))
    image_ids = sorted(coco.getImgIds())
    assert len(image_ids) == len(scenes)
    for image_id, scene in zip(image_ids, scenes, strict=True):
        info = coco.loadImgs(image_id)[0]
        assert (info["height"], info["width"]) == scene.image.shape[:2]
        png = cv2.cvtColor(cv2.imread(str(folder / info["file_name"])), cv2.COLOR_BGR2RGB)
        assert np.array_equal(png, scene.image)  # PNG is lossless
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        assert len(annotations) == len(scene.labels)
        for annotation, box, label, mask in zip(annotations, scene.boxes, scene.labels, scene.masks, strict=True):
            assert np.array_equal(coco.annToMask(annotation).astype(bool), mask)
            assert annotation["category_id"] == label and annotation["iscrowd"] == 0
            assert annotation["area"] == mask.sum()
            rows, columns = np.nonzero(mask)
            x, y = columns.min(), rows.min()
            assert annotation["bbox"] == [x, y, columns.max() + 1 - x, rows.max() + 1 - y]
            assert box.tolist() == [x, y, columns.max() + 1, rows.max() + 1]


def test_read_coco_gives_the_scenes_back(written) -> None:
    folder, scenes = written
    back = read_coco(folder)
    assert len(back) == len(scenes)
    for a, b in zip(scenes, back, strict=True):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks)
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.labels, b.labels)
        assert b.labels.dtype == np.int64 and b.boxes.dtype == np.float32


def test_writing_again_replaces_the_folder_whole(tmp_path) -> None:
    write_coco(tmp_path, make_scenes(6, seed=1))
    write_coco(tmp_path, make_scenes(3, seed=2))
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotations.json", "images"]  # nothing staged left
    assert np.array_equal(read_coco(tmp_path)[2].image, make_scenes(3, seed=2)[2].image)


def test_a_foreign_folder_with_polygons_and_other_ids(tmp_path) -> None:
    """Categories numbered otherwise and a subset of ours by name, polygon and uncompressed-RLE masks."""
    (tmp_path / "pics").mkdir()
    cv2.imwrite(str(tmp_path / "pics" / "a.png"), np.full((80, 100, 3), 128, np.uint8))
    runs = [80 * 10 + 5, 20, 80 * 90 - 5 - 20]  # column-major: 20 pixels of column 10, rows 5..24
    document = {
        "images": [{"id": 42, "file_name": "pics/a.png", "width": 100, "height": 80}],
        "annotations": [
            {"id": 1, "image_id": 42, "category_id": 9, "bbox": [10, 20, 30, 15], "iscrowd": 0,
             "segmentation": [[10, 20, 40, 20, 40, 35, 10, 35]]},
            {"id": 2, "image_id": 42, "category_id": 3, "bbox": [10, 5, 1, 20], "iscrowd": 0,
             "segmentation": {"size": [80, 100], "counts": runs}},
            {"id": 3, "image_id": 42, "category_id": 3, "bbox": [0, 0, 5, 5], "iscrowd": 1,
             "segmentation": {"size": [80, 100], "counts": [0, 8000]}},
            {"id": 4, "image_id": 42, "category_id": 9, "bbox": [60, 50, 8, 4], "iscrowd": 0},
        ],
        "categories": [{"id": 9, "name": "star"}, {"id": 3, "name": "ring"}],
    }
    (tmp_path / "annotations.json").write_text(json.dumps(document))
    scene = read_coco(tmp_path)[0]
    star, ring = CLASSES.index("star") + 1, CLASSES.index("ring") + 1
    assert scene.labels.tolist() == [star, ring, star]  # the crowd region is left out
    assert scene.boxes.tolist() == [[10, 20, 40, 35], [10, 5, 11, 25], [60, 50, 68, 54]]
    filled = np.zeros((80, 100), bool)
    filled[50:54, 60:68] = True
    assert np.array_equal(scene.masks[2], filled)  # no segmentation: its box, filled
    coco = COCO(str(tmp_path / "annotations.json"))
    assert np.array_equal(scene.masks[0], coco.annToMask(coco.loadAnns(1)[0]).astype(bool))
    rows, columns = np.nonzero(scene.masks[0])
    assert abs(columns.min() - 10) <= 1 and abs(columns.max() - 40) <= 1 and abs(rows.max() - 35) <= 1
    expected = np.zeros((80, 100), bool)
    expected[5:25, 10] = True
    assert np.array_equal(scene.masks[1], expected)


@pytest.mark.parametrize("damage, words", [
    ("no annotations", "has no annotations.json"),
    ("bad json", "cannot be read as JSON"),
    ("missing image", "is missing"),
    ("unknown category", "categories VisionLab's scenes do not know (zebra)"),
    ("not coco", "needs \"images\" and \"categories\""),
])
def test_broken_folders_get_one_sentence(written, tmp_path, damage, words) -> None:
    folder, _ = written
    document = json.loads((folder / "annotations.json").read_text())
    if damage == "missing image":
        document["images"][0]["file_name"] = "images/gone.png"
    if damage == "unknown category":
        document["categories"].append({"id": 99, "name": "zebra"})
    if damage == "not coco":
        document = {"annotations": []}
    if damage != "no annotations":
        text = "{not json" if damage == "bad json" else json.dumps(document)
        (tmp_path / "annotations.json").write_text(text)
    (tmp_path / "images").symlink_to(folder / "images")
    with pytest.raises(UserError) as error:
        read_coco(tmp_path)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_a_folder_of_someone_elses_files_is_refused_and_left_as_it_was(tmp_path) -> None:
    photos = tmp_path / "photos"
    (photos / "images").mkdir(parents=True)
    (photos / "images" / "holiday.jpg").write_bytes(b"my photo")
    with pytest.raises(UserError, match=r"holds files VisionLab did not write \(holiday.jpg\)"):
        write_coco(photos, make_scenes(1, 0))
    assert (photos / "images" / "holiday.jpg").read_bytes() == b"my photo"
    assert sorted(p.name for p in photos.iterdir()) == ["images"]  # no staging folder left behind
    other = tmp_path / "other"
    other.mkdir()
    foreign = json.dumps({"info": {"description": "my labels"}, "images": [], "annotations": []})
    (other / "annotations.json").write_text(foreign)
    with pytest.raises(UserError, match="annotations.json that VisionLab did not write"):
        write_coco(other, make_scenes(1, 0))
    assert (other / "annotations.json").read_text() == foreign
