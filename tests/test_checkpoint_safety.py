"""Checkpoints against hostile or damaged directories and files, and checkpoints that keep every
variable: a manager deletes only inside its directory, a broken state file or tensor name is a
DataLossError, named pipes never block, containers of variables are saved and restored, and a
restore that leaves values unused says so (TensorFlow's status object and its warnings)."""

import gc
import logging
import os

import numpy as np
import pytest

import rstf as tf

# -- 1. the manager deletes only inside its directory -------------------------------------------


def _victim(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.safetensors"
    victim.write_bytes(b"precious")
    return victim


@pytest.mark.parametrize("entry", ["relative", "absolute", "symlinked directory", "symlinked file"])
def test_manager_never_deletes_outside_its_directory(tmp_path, entry, caplog):
    victim = _victim(tmp_path)
    d = tmp_path / "managed"
    d.mkdir()
    listed = {"relative": "../outside/victim", "absolute": str(victim)[:-len(".safetensors")],
              "symlinked directory": "link/victim", "symlinked file": "ckpt-0"}[entry]
    if entry == "symlinked directory":
        os.symlink(tmp_path / "outside", d / "link")
    if entry == "symlinked file":
        os.symlink(victim, d / "ckpt-0.safetensors")
    (d / "checkpoint").write_text(f'model_checkpoint_path: "{listed}"\n'
                                  f'all_model_checkpoint_paths: "{listed}"\n')
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    with caplog.at_level(logging.WARNING, logger="rstf"):
        manager = tf.train.CheckpointManager(ckpt, str(d), max_to_keep=1)
    first, second = manager.save(), manager.save()
    assert victim.read_bytes() == b"precious"
    assert manager.checkpoints == [second]
    assert not os.path.exists(first + ".safetensors") and os.path.exists(second + ".safetensors")
    if entry != "symlinked file":  # an entry outside is dropped, and said so
        assert "outside the directory" in caplog.text


def test_latest_checkpoint_reads_absolute_entries_as_tensorflow_does(tmp_path):
    # TensorFlow's get_checkpoint_state keeps absolute paths and joins relative ones.
    elsewhere = tf.train.Checkpoint(v=tf.Variable(1.0)).write(str(tmp_path / "elsewhere" / "c"))
    d = tmp_path / "d"
    d.mkdir()
    (d / "checkpoint").write_text(f'model_checkpoint_path: "{elsewhere}"\n')
    assert tf.train.latest_checkpoint(str(d)) == elsewhere


# -- 2. a state file that is not UTF-8 -----------------------------------------------------------

def test_state_file_not_utf8_is_data_loss(tmp_path):
    state = tmp_path / "checkpoint"
    state.write_bytes(b'model_checkpoint_path: "ckpt-\xff\xfe"\n')
    with pytest.raises(tf.errors.DataLossError, match="checkpoint.*UTF-8"):
        tf.train.latest_checkpoint(str(tmp_path))
    with pytest.raises(tf.errors.DataLossError, match=str(state)):
        tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(tmp_path), 2)


# -- 3. every container of variables is saved and restored ---------------------------------------

class _Holder(tf.Module):
    pass


def _fill(owner, kind):
    """Assigns variables held by a container of ``kind`` to ``owner`` after its construction;
    returns them."""
    if kind == "list":
        owner.listed = [tf.Variable(1.0), tf.Variable([2.0, 3.0])]
        return owner.listed
    if kind == "dict":
        owner.mapped = {"a": tf.Variable(4.0), "b": tf.Variable(5.0)}
        return list(owner.mapped.values())
    if kind == "tuple":
        owner.pair = (tf.Variable(6.0), tf.Variable(7.0))
        return list(owner.pair)
    if kind == "nested":
        owner.nested = {"outer": [(tf.Variable(8.0), {"inner": tf.Variable(9.0)})]}
        return [owner.nested["outer"][0][0], owner.nested["outer"][0][1]["inner"]]
    if kind == "module":
        owner.sub = _Holder()
        owner.sub.later = tf.Variable(10.0)
        return [owner.sub.later]
    raise AssertionError(kind)


KINDS = ["list", "dict", "tuple", "nested", "module"]


@pytest.mark.parametrize("on", ["checkpoint", "module"])
@pytest.mark.parametrize("kind", KINDS)
def test_containers_assigned_later_are_saved_and_restored(tmp_path, kind, on):
    owner = tf.train.Checkpoint() if on == "checkpoint" else _Holder()
    ckpt = owner if on == "checkpoint" else tf.train.Checkpoint(model=owner)
    variables = _fill(owner, kind)
    saved = [v.numpy().copy() for v in variables]
    path = ckpt.save(str(tmp_path / "c"))
    for v in variables:
        v.assign(v * 0 - 1)
    ckpt.restore(path).assert_consumed()
    for v, want in zip(variables, saved):
        np.testing.assert_array_equal(v.numpy(), want)


@pytest.mark.parametrize("kind", KINDS)
def test_values_wait_for_containers_assigned_after_restore(tmp_path, kind, caplog):
    # TensorFlow's guide: restore first, create the objects afterwards.
    source = tf.train.Checkpoint()
    saved = []
    for v in _fill(source, kind):
        v.assign(v * 10 + 1)  # unlike the values _fill starts from
        saved.append(v.numpy().copy())
    path = source.write(str(tmp_path / "c"))
    fresh = tf.train.Checkpoint()
    status = fresh.restore(path)
    variables = _fill(fresh, kind)
    for v, want in zip(variables, saved):
        np.testing.assert_array_equal(v.numpy(), want)
    status.assert_consumed()
    with caplog.at_level(logging.WARNING, logger="rstf"):
        del status, fresh
        gc.collect()
    assert "Unresolved" not in caplog.text


def test_dict_keys_that_share_a_name_are_refused(tmp_path):
    owner = _Holder()
    owner.d = {1: tf.Variable(1.0), "1": tf.Variable(2.0)}
    with pytest.raises(ValueError, match="both named '1'"):
        tf.train.Checkpoint(model=owner).write(str(tmp_path / "c"))
