"""A training batch keeps its dataset's memory layout: a convolution picks its kernel by the input's
strides, so a channels-last image set copied row-major trained 13-15 % slower per step."""

from __future__ import annotations

import torch

from mtl_engine.rows import take


def test_an_image_batch_keeps_the_channels_last_layout_of_its_source() -> None:
    x = torch.arange(6 * 3 * 4 * 5, dtype=torch.float32).reshape(6, 3, 4, 5)
    x = x.contiguous(memory_format=torch.channels_last)
    idx = torch.tensor([4, 0, 5])
    batch = take(x, idx)
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batch, x.index_select(0, idx))  # the same rows, in the given order


def test_a_one_channel_image_batch_has_its_sources_strides() -> None:
    # strides (HW, 1, W, 1): what the translated-MNIST images come as
    x = torch.rand(7, 48, 48, 1).permute(0, 3, 1, 2)  # N, H, W, C stored; read as N, C, H, W
    idx = torch.tensor([6, 2])
    assert take(x, idx).stride() == x[idx].stride() == (48 * 48, 1, 48, 1)
    assert torch.equal(take(x, idx), x[[6, 2]])


def test_table_and_named_inputs_take_the_same_rows() -> None:
    table = torch.rand(5, 3)
    ids = torch.tensor([[1, 2], [3, 4], [5, 6], [7, 8], [9, 0]])
    idx = torch.tensor([3, 1])
    assert torch.equal(take(table, idx), table[[3, 1]]) and take(table, idx).is_contiguous()
    named = take({"t": table, "ids": ids}, idx)
    assert torch.equal(named["ids"], torch.tensor([[7, 8], [3, 4]]))
    assert named["ids"].dtype == torch.int64
    assert torch.equal(named["t"], table[[3, 1]])
