"""The cached ONNX text tower: open_clip's answer without torch, rebuilt when the weights
change, never used when its check fails; and the tokenizer that feeds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from photoclip.core.model import ModelChoice, OpenClipEmbedder, texttower
from photoclip.core.model.query import QueryEmbedder, prepare_text_tower
from photoclip.core.model.texttower import TextTower, needs_export, read_record

pytestmark = pytest.mark.slow

TINY = "photoclip-tiny"
TEXTS = ["a photo of a dog", "Kids on a BEACH at sunset!", "café 東京 &amp; résumé", "", "many words " * 60]


def choice_for(weights: Path) -> ModelChoice:
    return ModelChoice(TINY, str(weights), device="cpu", precision="fp32")


def fp32_reference(weights: Path, texts: list[str]) -> np.ndarray:
    return OpenClipEmbedder(choice_for(weights)).load().embed_texts(texts)


@pytest.fixture
def other_weights(tmp_path: Path) -> Path:
    import open_clip
    import torch

    torch.manual_seed(7)
    path = tmp_path / "other.pt"
    torch.save(open_clip.create_model(TINY, pretrained=None).state_dict(), path)
    return path


def test_tokenizer_gives_open_clips_ids(tiny_embedder: OpenClipEmbedder) -> None:
    import open_clip

    from photoclip.core.model.bpe import ClipTokenizer

    ours = ClipTokenizer(Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz")
    texts = [*TEXTS, "don't you'll they're", "2024-06-01 12345", "   spaced\tout\n", "😀😀 <end_of_text> x"]
    assert np.array_equal(ours(texts), open_clip.get_tokenizer(TINY)(texts).numpy())


def test_saved_tables_give_the_same_ids_and_damaged_ones_are_not_read(tmp_path: Path) -> None:
    import open_clip

    from photoclip.core.model.bpe import ClipTokenizer

    vocab = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    texts = [*TEXTS, "don't you'll they're", "Tom &amp; Jerry", "naïve café"]
    tables = tmp_path / "tokenizer.tables"
    ClipTokenizer(vocab).save_tables(tables)
    expected = ClipTokenizer(vocab)(texts)
    assert np.array_equal(ClipTokenizer(vocab, tables=tables)(texts), expected)
    for damage in (b"", b"\x00" * 100, tables.read_bytes()[: len(tables.read_bytes()) // 2]):
        tables.write_bytes(damage)
        assert np.array_equal(ClipTokenizer(vocab, tables=tables)(texts), expected)  # read from the vocabulary instead


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).filter(lambda t: "&" not in t))
def test_typed_ascii_is_what_ftfy_would_leave(text: str) -> None:
    """bpe.clean skips ftfy for printable ASCII without '&': ftfy must leave such text alone."""
    import ftfy

    assert ftfy.fix_text(text) == text


def test_tower_answers_as_open_clip(tiny_weights: Path) -> None:
    choice = choice_for(tiny_weights)
    assert TextTower.open(choice) is None  # nothing cached yet
    embedder = OpenClipEmbedder(choice).load()
    assert prepare_text_tower(embedder)
    tower = TextTower.open(choice)
    assert tower is not None and tower.record.verified and tower.dim == 64
    fast = tower.embed_texts(TEXTS)
    slow = fp32_reference(tiny_weights, TEXTS)
    assert fast.shape == slow.shape
    assert np.min(np.sum(fast * slow, axis=1)) >= 0.9999
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


def test_query_embedder_uses_the_tower_without_torch(tiny_weights: Path, tmp_path: Path) -> None:
    prepare_text_tower(OpenClipEmbedder(choice_for(tiny_weights)).load())
    # A fresh interpreter: the text query must be answered with torch and open_clip never imported.
    script = (
        "import sys, numpy as np\n"
        "from photoclip.core.model import ModelChoice\n"
        "from photoclip.core.model.query import QueryEmbedder\n"
        f"q = QueryEmbedder(ModelChoice({TINY!r}, {str(tiny_weights)!r}, device='cpu', precision='fp32'))\n"
        "v = q.embed_texts(['a photo of a dog'])\n"
        "assert q.uses_tower and q.dim == v.shape[1] == 64\n"
        "np.save(sys.argv[1], v)\n"
        "print(sorted(m for m in ('torch', 'open_clip') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "v.npy")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    got = np.load(tmp_path / "v.npy")
    assert float(got[0] @ fp32_reference(tiny_weights, ["a photo of a dog"])[0]) >= 0.9999


def test_changed_weights_rebuild_the_tower(tiny_weights: Path, other_weights: Path, tmp_path: Path) -> None:
    user_file = tmp_path / "model.pt"
    user_file.write_bytes(tiny_weights.read_bytes())
    choice = choice_for(user_file)
    prepare_text_tower(OpenClipEmbedder(choice).load())
    before = TextTower.open(choice)
    assert before is not None
    user_file.write_bytes(other_weights.read_bytes())  # the user replaces the file
    assert TextTower.open(choice) is None and needs_export(choice)
    assert prepare_text_tower(OpenClipEmbedder(choice).load())
    after = TextTower.open(choice)
    assert after is not None and after.record.weights_digest != before.record.weights_digest
    fast = after.embed_texts(TEXTS)
    assert np.min(np.sum(fast * fp32_reference(user_file, TEXTS), axis=1)) >= 0.9999


@pytest.mark.parametrize("name", ["textual.onnx", texttower.WEIGHTS_FILE, texttower.TABLES_FILE])
def test_a_tower_changed_on_disk_is_not_used(tiny_weights: Path, name: str) -> None:
    choice = choice_for(tiny_weights)
    prepare_text_tower(OpenClipEmbedder(choice).load())
    changed = texttower.tower_dir(read_record(OpenClipEmbedder(choice).model_id).model_id) / name
    data = bytearray(changed.read_bytes())
    data[:4096] = bytes(4096)
    changed.write_bytes(bytes(data))
    assert TextTower.open(choice) is None


@pytest.mark.parametrize("name", ["tower.json", "textual.onnx", texttower.WEIGHTS_FILE, texttower.TABLES_FILE])
def test_a_named_pipe_in_the_tower_folder_is_not_opened(tiny_weights: Path, name: str) -> None:
    """Before: tower.json was read plainly and the digests opened plainly: a search blocked forever."""
    import os

    from tests.conftest import outcome_within

    choice = choice_for(tiny_weights)
    prepare_text_tower(OpenClipEmbedder(choice).load())
    swapped = texttower.tower_dir(OpenClipEmbedder(choice).model_id) / name
    swapped.unlink()
    os.mkfifo(swapped)
    assert outcome_within(lambda: TextTower.open(choice), 30, "blocked on the pipe") is None


def test_the_tensors_live_beside_the_graph(tiny_weights: Path) -> None:
    """ONNX Runtime maps a separate tensors file instead of copying the tensors out of the
    graph file: the graph file holds (almost) no weights."""
    choice = choice_for(tiny_weights)
    prepare_text_tower(OpenClipEmbedder(choice).load())
    folder = texttower.tower_dir(OpenClipEmbedder(choice).model_id)
    graph, tensors = (folder / "textual.onnx").stat().st_size, (folder / texttower.WEIGHTS_FILE).stat().st_size
    assert tensors > 10 * graph
    assert TextTower.open(choice) is not None


def test_a_tower_of_the_old_layout_is_exported_again(tiny_weights: Path) -> None:
    import json

    choice = choice_for(tiny_weights)
    prepare_text_tower(OpenClipEmbedder(choice).load())
    model_id = OpenClipEmbedder(choice).model_id
    record_file = texttower.tower_dir(model_id) / "tower.json"
    old = {k: v for k, v in json.loads(record_file.read_text()).items() if k not in ("layout", "tensors_digest")}
    record_file.write_text(json.dumps(old))
    assert TextTower.open(choice) is None and needs_export(choice)
    prepare_text_tower(OpenClipEmbedder(choice).load())
    record = read_record(model_id)
    assert record is not None and record.layout == texttower.TOWER_LAYOUT and TextTower.open(choice) is not None


def test_a_failed_check_falls_back_to_open_clip(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    choice = choice_for(tiny_weights)
    # The exported graph answers something else than open_clip: the check must refuse it.
    monkeypatch.setattr(texttower, "run_session", lambda tower, tokens: -texttower.normalize(np.ones((len(tokens), tower.dim))))
    assert not prepare_text_tower(OpenClipEmbedder(choice).load())
    record = read_record(OpenClipEmbedder(choice).model_id)
    assert record is not None and not record.verified and "differs" in record.reason
    assert TextTower.open(choice) is None
    assert not needs_export(choice)  # known to fail: not exported again on every search
    query = QueryEmbedder(choice)
    got = query.embed_texts(TEXTS)
    assert not query.uses_tower
    assert np.allclose(got, fp32_reference(tiny_weights, TEXTS), atol=1e-6)


def test_without_a_tower_the_query_embedder_loads_open_clip(tiny_weights: Path) -> None:
    query = QueryEmbedder(choice_for(tiny_weights))
    assert np.allclose(query.embed_texts(TEXTS[:2]), fp32_reference(tiny_weights, TEXTS[:2]), atol=1e-6)
    assert query.dim == 64 and query.input_size == 64 and not query.uses_tower
    query.prepare_text_tower(unload=True)  # the export does not hold two models at once
    assert query._full is not None and not query._full.loaded
    assert TextTower.open(query.choice) is not None


def test_an_export_that_fails_is_not_tried_on_every_search(tiny_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    choice = choice_for(tiny_weights)

    def cannot_export(*args: object, **kwargs: object) -> None:
        raise RuntimeError("this exporter cannot trace the model")

    monkeypatch.setattr(torch.onnx, "export", cannot_export)
    assert not prepare_text_tower(OpenClipEmbedder(choice).load())
    record = read_record(OpenClipEmbedder(choice).model_id)
    assert record is not None and not record.verified and "cannot trace" in record.reason
    assert not needs_export(choice) and TextTower.open(choice) is None


def test_work_folders_of_abandoned_exports_are_removed(tmp_path: Path) -> None:
    """The app leaves an export running when it quits; a killed process leaves its folder:
    the next full-model load removes those whose process is gone, never a live one's."""
    import os
    import time

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    gone = tmp_path / f".export-{ended.stdout.strip()}-abc"
    mine = tmp_path / f".export-{os.getpid()}-def"
    alive = tmp_path / ".export-1-ghi"  # init: always running
    unnamed_old, unnamed_new = tmp_path / ".export-old", tmp_path / ".export-new"
    for folder in (gone, mine, alive, unnamed_old, unnamed_new):
        folder.mkdir()
        (folder / "textual.weights").write_bytes(b"x" * 1000)
    hours_ago = time.time() - 2 * 3600
    os.utime(unnamed_old, (hours_ago, hours_ago))
    texttower.remove_abandoned_exports(tmp_path)
    assert not gone.exists() and not unnamed_old.exists()
    assert mine.exists() and alive.exists() and unnamed_new.exists()
