"""Checkpoints against hostile or damaged directories and files, and checkpoints that keep every
variable: a manager deletes only inside its directory, a broken state file or tensor name is a
DataLossError, named pipes never block, containers of variables are saved and restored, and a
restore that leaves values unused says so (TensorFlow's status object and its warnings)."""

import logging
import os

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
