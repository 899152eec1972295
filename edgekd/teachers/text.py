"""Text teachers: a Hugging Face model folder, an ONNX text model, a text recipe, or objects.

Every text teacher is called on the student's batch of token ids (-1 = padding): the very
view the student sees, augmented or not. When the teacher reads other tokens than the
student (the student's vocabulary was trained smaller, or the teacher reads raw strings),
the batch is decoded to text with the student's tokenizer and given to the teacher as text
(re-encoded with its own tokenizer, or as strings), so a masked or replaced word reaches the
teacher too.

- a folder with `config.json` and safetensors weights: `transformers`
  `AutoModelForSequenceClassification.from_pretrained(local_files_only=True,
  use_safetensors=True)`; its code runs only with --trust-remote-code; no teacher.onnx is
  written (accuracy is measured by calling it);
- `model.onnx` with token inputs (`input_ids` [+ `attention_mask`, `token_type_ids`]) or one
  string input (a scikit-learn TF-IDF pipeline exported with skl2onnx);
- a text recipe name (`text-transformer:width=2`), trained on the spot;
- from Python: `teacher=` a transformers model (its tokenizer given as `tokenizer=`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from edgekd.bench.inputs import IDS, is_text_model, token_feeds
from edgekd.data import DataBundle
from edgekd.distill.students import build_text_model, parse_model_spec
from edgekd.errors import EdgeKDError, first_line
from edgekd.teachers.kinds import Teacher, TorchTeacher, to_logits
from edgekd.teachers.onnx_graph import _pick_output, _prune, load_onnx_checked


class Bridge:
    """The student's ids -> what the teacher reads: the same ids, the teacher's ids, or text."""

    def __init__(self, data: DataBundle, teacher_tok: Any = None, limit: int | None = None):
        info = data.text
        self.student_tok, self.teacher_tok, self.limit = info.tokenizer, teacher_tok, limit
        self.same = teacher_tok is None and info.source == "teacher"
        self.pad_id = info.pad_id

    def texts(self, x: np.ndarray) -> list[str]:
        rows = [[int(t) for t in r if t >= 0] for r in x]
        return self.student_tok.decode_batch(rows, skip_special_tokens=True)

    def ids(self, x: np.ndarray) -> np.ndarray:
        """Token ids the teacher reads (-1 = padding)."""
        if self.same:
            return np.asarray(x)
        tok = self.teacher_tok
        if self.limit:
            tok.enable_truncation(self.limit)
        enc = tok.encode_batch(self.texts(x))
        tok.no_truncation()
        out = np.full((len(enc), max(len(e.ids) for e in enc)), -1, dtype=np.int64)
        for i, e in enumerate(enc):
            out[i, : len(e.ids)] = e.ids
        return out


class HFTeacher(Teacher):
    """A transformers sequence classifier, run in-process on the bridged token ids."""

    kind = "huggingface"
    has_graph = False

    def __init__(self, model: torch.nn.Module, bridge: Bridge, spec: str):
        self.module, self.bridge, self.spec = model.eval(), bridge, spec
        for p in self.module.parameters():
            p.requires_grad_(False)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        ids = torch.from_numpy(self.bridge.ids(x.detach().cpu().numpy())).to(x.device)
        mask = ids >= 0
        ids = torch.where(mask, ids, torch.full_like(ids, self.bridge.pad_id))
        self.module.to(x.device)
        with torch.no_grad():
            return self.module(input_ids=ids, attention_mask=mask.long()).logits.float()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return to_logits(self.scores(x), self.output)


class OnnxTextTeacher(Teacher):
    """An ONNX model on token ids or on raw strings, run by onnxruntime (no teacher.onnx: it
    takes other inputs than the student's)."""

    kind = "onnx-text"
    has_graph = False

    def __init__(self, path: Path, model: onnx.ModelProto, bridge: Bridge, data: DataBundle):
        source, self.sure_probs, labels = _pick_output(model, path)
        if labels is not None and [str(v) for v in labels] != [
            str(v) for v in (data.class_ids or range(data.num_classes))
        ]:
            raise EdgeKDError(
                f"teacher '{path}' labels its classes {labels} but the data's are "
                f"{data.class_ids or list(range(data.num_classes))}; they must match in order"
            )
        model = onnx.ModelProto.FromString(model.SerializeToString())
        _prune(model.graph, [source])
        kept = [o for o in model.graph.output if o.name == source]  # one output: the scores
        del model.graph.output[:]
        model.graph.output.extend(
            kept or [onnx.helper.make_tensor_value_info(source, onnx.TensorProto.FLOAT, None)]
        )
        self.spec, self.bridge = str(path), bridge
        self.session = _session(model, path)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.output_name = source
        self.strings = not is_text_model(self.inputs)
        if self.strings and (
            len(self.inputs) != 1 or self.session.get_inputs()[0].type != "tensor(string)"
        ):
            raise EdgeKDError(
                f"teacher '{path}' takes {', '.join(self.inputs)}; a text teacher takes "
                f"'{IDS}' (+ attention_mask) or one string input"
            )

    def scores_np(self, x: np.ndarray) -> np.ndarray:
        if self.strings:
            texts = np.array(self.bridge.texts(x), dtype=object).reshape(-1, 1)
            feeds = {self.inputs[0]: texts}
        else:
            feeds = token_feeds(self.bridge.ids(x), self.inputs, self.bridge.pad_id)
        out = self.session.run([self.output_name], feeds)[0]
        return np.asarray(out, dtype=np.float32)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.scores_np(x.detach().cpu().numpy())).to(x.device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return to_logits(self.scores(x), self.output)


def _session(model: onnx.ModelProto, path: Path):
    """An onnxruntime session; a StringNormalizer whose locale this host lacks (skl2onnx's
    TF-IDF lower-cases in en_US.UTF-8 by default) falls back to C.UTF-8, which lower-cases
    ASCII the same way."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 4  # the failure is reported here, in one line
    for attempt in range(2):
        try:
            return ort.InferenceSession(
                model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:
            if attempt or "locale" not in str(e):
                raise EdgeKDError(
                    f"teacher '{path}' does not load in onnxruntime ({first_line(e)})"
                ) from None
            for node in model.graph.node:
                if node.op_type == "StringNormalizer":
                    kept = [a for a in node.attribute if a.name != "locale"]
                    del node.attribute[:]
                    node.attribute.extend([*kept, onnx.helper.make_attribute("locale", "C.UTF-8")])
    raise AssertionError("unreachable")  # pragma: no cover


def load_hf_model(path: Path, trust_remote_code: bool) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification

    if not any(path.glob("*.safetensors")):
        raise EdgeKDError(
            f"teacher folder '{path}' has no .safetensors weights; edgekd never unpickles "
            "pytorch_model.bin: save the model with save_pretrained (safetensors is the default)"
        )
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            str(path),
            local_files_only=True,
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
        )
    except Exception as e:
        hint = "" if trust_remote_code else " (custom code needs --trust-remote-code)"
        raise EdgeKDError(
            f"teacher folder '{path}' does not load as a sequence classifier{hint}: {first_line(e)}"
        ) from None


def load_text_teacher(spec, data: DataBundle, trust_remote_code: bool = False) -> Teacher | None:
    """The teacher for a text bundle, or None when `spec` is for the generic loader."""
    from edgekd.data.tokenizer import teacher_limit
    from edgekd.models.registry import text_models

    teacher_tok = data.text.teacher_tokenizer
    if not isinstance(spec, str):
        if hasattr(spec, "config") and isinstance(spec, torch.nn.Module):  # transformers model
            limit = getattr(spec.config, "max_position_embeddings", None)
            return HFTeacher(spec, Bridge(data, teacher_tok, limit), "<in-memory transformers>")
        return None
    if parse_model_spec(spec)[0] in text_models():
        return TorchTeacher(build_text_model(spec, data), kind="recipe", spec=spec)
    path = Path(spec)
    if path.is_dir() and (path / "config.json").is_file():
        model = load_hf_model(path, trust_remote_code)
        return HFTeacher(model, Bridge(data, teacher_tok, teacher_limit(path)), spec)
    if path.suffix == ".onnx" and path.is_file():
        return OnnxTextTeacher(path, load_onnx_checked(path), Bridge(data, teacher_tok), data)
    return None
