"""`EnsembleTeacher`: several teachers as one, soft targets the weighted mean of the members'
tempered probabilities (see load.py's docstring), and one composed teacher.onnx.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
import torch.nn.functional as F

from edgekd.data import DataBundle
from edgekd.data.stream import inference_chunks
from edgekd.errors import ParityError
from edgekd.teachers.kinds import Teacher
from edgekd.teachers.onnx_graph import LOG_EPS, compose_ensemble


class EnsembleTeacher(Teacher):
    kind = "ensemble"

    def __init__(self, members: list[Teacher], weights: list[float]):
        self._members = members
        total = sum(weights)
        self.weights = [w / total for w in weights]
        self.spec = " + ".join(m.spec for m in members)
        self.n_classes = members[0].n_classes
        self.temperature = 1.0
        self.output = "logits"

    @property
    def members(self) -> list[Teacher]:
        return self._members

    @property
    def needs_training(self) -> bool:  # type: ignore[override]
        return any(m.needs_training for m in self._members)

    @property
    def has_graph(self) -> bool:  # type: ignore[override]
        return all(m.has_graph for m in self._members)

    def logits_at(self, x: torch.Tensor, temperature: float) -> torch.Tensor:
        probs = sum(
            w * F.softmax(m(x).float() / temperature, dim=1)
            for m, w in zip(self._members, self.weights, strict=True)
        )
        return temperature * torch.log(probs.clamp_min(LOG_EPS))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_at(x, self.temperature)

    def onnx_model(self, data: DataBundle) -> tuple[onnx.ModelProto, dict]:
        import onnxruntime as ort

        parts = [m.onnx_model(data) for m in self._members]
        model = compose_ensemble(
            [p[0] for p in parts], [m.output == "probs" for m in self._members], self.weights
        )
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        chunks = list(inference_chunks(data.x_test))
        got = np.concatenate([session.run(None, {"input": c})[0] for c in chunks])
        with torch.no_grad():
            ref = np.concatenate([self.logits_at(torch.from_numpy(c), 1.0).numpy() for c in chunks])
        diff = float(np.abs(np.exp(got) - np.exp(ref)).max())
        agree = float((got.argmax(1) == ref.argmax(1)).mean())
        if diff > 1e-3 or agree < 0.999:
            raise ParityError(
                f"the composed ensemble teacher.onnx differs from the ensemble (max |dp| "
                f"{diff:.2e}, top-1 agreement {agree:.4f}); report the member specs"
            )
        members = [{"spec": m.spec, **p[1]} for m, p in zip(self._members, parts, strict=True)]
        return model, {
            "max_abs_prob_diff": diff,
            "top1_agreement": agree,
            "samples": len(data.x_test),
            "source": "members composed into one graph",
            "members": members,
        }
