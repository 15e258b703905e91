import threading
import time

import pytest

from visionlab.core.latest import LatestSlot, SlotClosed


def test_put_overwrites_and_counts_drops():
    slot = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.get_nowait() == 4
    assert slot.dropped == 4
    assert slot.get_nowait() is None


def test_get_times_out_with_none():
    slot = LatestSlot()
    start = time.monotonic()
    assert slot.get(timeout=0.05) is None
    assert time.monotonic() - start >= 0.04


def test_close_wakes_a_blocked_get():
    slot = LatestSlot()
    outcome = []

    def consumer():
        try:
            slot.get(timeout=10)
        except SlotClosed:
            outcome.append("closed")

    thread = threading.Thread(target=consumer)
    thread.start()
    time.sleep(0.05)
    slot.close()
    thread.join(1)
    assert outcome == ["closed"]


def test_item_waiting_at_close_is_still_delivered_then_closed():
    slot = LatestSlot()
    slot.put("last")
    slot.close()
    assert slot.get(timeout=0) == "last"
    with pytest.raises(SlotClosed):
        slot.get(timeout=0)
    slot.put("ignored")
    assert slot.get_nowait() is None
