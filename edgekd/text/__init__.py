"""Text classification: texts + labels in, token-id students out, the tokenizer shipped beside.

A text data set is a `DataBundle` whose x arrays are int64 token ids, shape (N, L), with -1
where a text is shorter than L (padding). Integer x marks token ids everywhere else in edgekd
(every other source yields float32), and -1 padding means a batch carries its own attention
mask (`x >= 0`) whatever the tokenizer's pad id: `feeds.py` turns a batch into the ONNX
inputs `input_ids` + `attention_mask`, the students (`students.py`) read the same two.

Modules: `tokenizer.py` (the teacher's `tokenizer.json`, or a WordPiece trained on the
training texts), `data.py` (CSV / JSON Lines -> bundle), `students.py` (textcnn, bigru,
text-transformer), `teacher.py` (Hugging Face directories, ONNX text models), `augment.py`
(token masking, word replacement, n-gram sampling), `export.py` (two-input ONNX, tokenizer.json,
parity through the tokenizer), `quantize.py` (int8 of embeddings and MatMul/Gemm).
This package's `__init__`, `feeds.py`, `tokenizer.py` and `data.py` import no torch.
"""
