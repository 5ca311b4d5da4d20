"""Checkpoints against hostile or damaged directories and files, and checkpoints that keep every
variable: a manager deletes only inside its directory, a broken state file or tensor name is a
DataLossError, named pipes never block, containers of variables are saved and restored, and a
restore that leaves values unused says so (TensorFlow's status object and its warnings)."""

import gc
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import rstf as tf
from rstf import _rstf

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


# -- 4. tensor names and unmatched values --------------------------------------------------------

def _checkpoint_with_key(tmp_path, key):
    path = str(tmp_path / "c.safetensors")
    _rstf.save_tensors(path, [(key, np.float32(7.0)), ("save_counter", np.int64(0))],
                       {"format": "rstf.checkpoint", "version": "1"})
    return str(tmp_path / "c")


@pytest.mark.parametrize("key", ["../../v", "/etc/v", "v\x00", "a//v", "v/", "v/.OPTIMIZER_SLOT/x"])
def test_tensor_names_that_are_not_object_paths_are_data_loss(tmp_path, key):
    path = _checkpoint_with_key(tmp_path, key)
    v = tf.Variable(1.0)
    with pytest.raises(tf.errors.DataLossError, match=r"c\.safetensors.*not an object path"):
        tf.train.Checkpoint(v=v).restore(path)
    assert float(v.numpy()) == 1.0


def test_renamed_tensor_is_reported_by_the_status(tmp_path, caplog):
    path = _checkpoint_with_key(tmp_path, "w")  # the variable is 'v': one character flipped
    v = tf.Variable(1.0)
    ckpt = tf.train.Checkpoint(v=v)
    status = ckpt.restore(path)
    assert float(v.numpy()) == 1.0
    with pytest.raises(AssertionError, match="'v'"):
        status.assert_existing_objects_matched()
    with pytest.raises(AssertionError):
        status.assert_consumed()
    # Unchecked, TensorFlow logs the unused values when the restore's objects go away.
    with caplog.at_level(logging.WARNING, logger="rstf"):
        del status, ckpt
        gc.collect()
    assert "Unresolved object in checkpoint" in caplog.text and ": w" in caplog.text
    assert "expect_partial" in caplog.text


def test_expect_partial_silences_the_warning(tmp_path, caplog):
    path = _checkpoint_with_key(tmp_path, "w")
    with caplog.at_level(logging.WARNING, logger="rstf"):
        tf.train.Checkpoint(v=tf.Variable(1.0)).restore(path)
        gc.collect()
        assert "Unresolved object in checkpoint" in caplog.text  # unchecked: logged
        caplog.clear()
        tf.train.Checkpoint(v=tf.Variable(1.0)).restore(path).expect_partial()
        gc.collect()
    assert "Unresolved" not in caplog.text


# -- 5. named pipes never block ------------------------------------------------------------------

FIFO_SCRIPT = textwrap.dedent("""
    import os, sys
    import rstf as tf
    from rstf.train import load_variables
    d = sys.argv[1]
    fifo_state, fifo_ckpt = os.path.join(d, "state"), os.path.join(d, "ckpts")
    os.makedirs(fifo_state); os.makedirs(fifo_ckpt)
    os.mkfifo(os.path.join(fifo_state, "checkpoint"))
    os.mkfifo(os.path.join(fifo_ckpt, "ckpt-1.safetensors"))
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    calls = [lambda: tf.train.latest_checkpoint(fifo_state),
             lambda: tf.train.CheckpointManager(ckpt, fifo_state, 2),
             lambda: ckpt.save(os.path.join(fifo_state, "c")),
             lambda: ckpt.restore(os.path.join(fifo_ckpt, "ckpt-1")),
             lambda: load_variables(os.path.join(fifo_ckpt, "ckpt-1.safetensors"))]
    for call in calls:
        try:
            call()
        except tf.errors.DataLossError as e:
            print("refused:", e)
        else:
            print("accepted")
""")


def test_named_pipes_are_refused_without_blocking(tmp_path):
    # In a child process: a blocked open() cannot be interrupted, only the process killed.
    out = subprocess.run([sys.executable, "-c", FIFO_SCRIPT, str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5, out.stdout
    assert all(line.startswith("refused:") and "not a regular file" in line for line in lines), lines
