"""``gc_paused``: the cycle collector is off in the block and as it was after, whatever happens."""

import gc

import pytest

from crpv_pipeline.gc_pause import gc_paused
from crpv_pipeline.outputs.steward_overview import write_steward_overview


def test_the_collector_is_back_after_the_block_even_when_it_fails():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: still off, and not turned on by the inner block
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("the step failed")
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_writer_that_fails_leaves_the_collector_on(tmp_path):
    with pytest.raises(TypeError):  # no completeness table
        write_steward_overview(2021, None, None, tmp_path, {})
    assert gc.isenabled()
