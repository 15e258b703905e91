"""The receptive-field sentence names pixels a student can count: first and last, both included."""

from __future__ import annotations

import torch
from torch import nn

from visionlab.core.features.receptive import field_on_image, receptive_fields


def test_the_named_rows_are_exactly_the_pixels_whose_change_reaches_the_output():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 1, 7, stride=2, padding=3, bias=False))
    fields = receptive_fields(net, (1, 64, 64))
    text = field_on_image(fields["0"], 10, 12, (64, 64)).text
    # The reference: which input pixels change output pixel (10, 12), found by autograd, not by the formula.
    image = torch.zeros(1, 1, 64, 64, requires_grad=True)
    net(image)[0, 0, 10, 12].backward()
    rows = torch.nonzero(image.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(image.grad[0, 0].abs().sum(0)).flatten()
    assert f"rows {rows.min().item()}–{rows.max().item()}" in text
    assert f"columns {cols.min().item()}–{cols.max().item()}" in text
    assert "(7×7 px field)" in text
