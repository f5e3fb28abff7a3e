"""synth-val96-v1: 96 more val videos drawn as synth-v1's val, frozen, for scoring only."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from gsfm.data.synthetic import VERSIONS, generate_video, split_names

# sha256 of the decoded masks of three videos of synth-val96-v1 (seed 0). If this fails, the
# generator changed: val96-v1 must stay frozen (rows in results/ablations*-val96/ were scored
# on these videos), so add a new version.
FROZEN_VAL96_V1 = {
    0: "5b1d4726dfe3caa1ec2456fc55799178fd84b606efba2c75329cb0de037bd8af",
    47: "4d02ed8ebf725dba6eb7fb84ab51994d3588a8905d4884a09375289fde29031a",
    95: "f9b694e92d40e00782c96a0fb4104166f27f5e72e1b4aea1199d6a288a863e51",
}


@pytest.mark.parametrize("index", sorted(FROZEN_VAL96_V1))
def test_val96_v1_is_frozen(index: int) -> None:
    vid = generate_video("val", index, "val96-v1", seed=0)
    assert vid.masks.shape == (24, 160, 288)
    assert hashlib.sha256(vid.masks.tobytes()).hexdigest() == FROZEN_VAL96_V1[index]


def test_val96_v1_is_v1s_val_drawn_again_four_times_over() -> None:
    """Every generator parameter is v1's; only the name, the seed, the count and the splits
    differ, so its videos come from the distribution v1's val was drawn from."""
    v1, more = VERSIONS["v1"], VERSIONS["val96-v1"]
    changed = {
        f.name for f in dataclasses.fields(v1) if getattr(v1, f.name) != getattr(more, f.name)
    }
    assert changed == {"name", "version_seed", "val_videos", "splits"}
    assert more.val_videos == 4 * v1.val_videos and more.splits == ("val",)
    names = split_names("val", "val96-v1")
    assert len(names) == 96 and names[: v1.val_videos] == split_names("val")  # cases cycled alike
    for split in ("small", "train"):
        with pytest.raises(ValueError, match=f"synth-val96-v1 has no '{split}' split"):
            split_names(split, "val96-v1")
    assert not np.array_equal(
        generate_video("val", 0).masks, generate_video("val", 0, "val96-v1").masks
    )


def test_val96_v1_cannot_be_trained_on() -> None:
    from gsfm.training.api import parse_data_spec

    with pytest.raises(ValueError, match=r"synth-val96-v1 is for scoring only"):
        parse_data_spec("synth:val96-v1")
