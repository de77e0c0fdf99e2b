#!/usr/bin/python3
"""Records what PaddleOCR's own inference code gives for every reference fixture.

Runs PaddleOCR's TextClassifier (tools/infer/predict_cls.py) and TextDetector
(tools/infer/predict_det.py) with the defaults of tools/infer/utility.py, imported from a
PaddleOCR checkout given on the command line. PaddlePaddle itself is not needed: the two
classes get a stand-in for Paddle's predictor that sends each input tensor to
src/reference-onnx-runner.ts (onnxruntime-node, the same ONNX files Nightshift ships) and hands
the output back. Everything else -- image reading, resizing, normalization, DB post-processing,
box filtering -- is PaddleOCR's code with OpenCV, shapely and pyclipper from Debian.

Images are read the way PaddleOCR reads files: cv2.imread (EXIF orientation applied, 16-bit
samples cut to their high byte, palettes expanded, grey made BGR). An image with an alpha
channel is read unchanged and laid over white by PaddleOCR's alpha_to_color, as its paddleocr
package does (cv2.imread alone would drop the alpha and show whatever colour lies under it).

Usage (see reference/README.md):
  /usr/bin/python3 reference/paddleocr_reference.py --paddleocr /tmp/paddleocr-2.8.1
"""
import argparse
import hashlib
import importlib.util
import json
import os
import struct
import subprocess
import sys
import types

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)

# Mean and std per tensor channel, to turn a tensor back into 8-bit levels for its checksum.
LEVELS = {
    "ppocr-cls": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    "ppocr-det": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
}
SAMPLES = 32


def install_paddle_stand_in():
    """PaddleOCR's modules import paddle at the top; the parts used here never call it."""

    class Tensor:  # isinstance checks in the post-processors see a class that nothing is
        pass

    paddle = types.ModuleType("paddle")
    paddle.Tensor = Tensor
    paddle.__path__ = []
    distributed = types.ModuleType("paddle.distributed")
    distributed.get_rank = lambda: 0
    inference = types.ModuleType("paddle.inference")
    paddle.distributed = distributed
    paddle.inference = inference
    sys.modules.update(
        {"paddle": paddle, "paddle.distributed": distributed, "paddle.inference": inference}
    )


def load(name, root, relpath):
    """Imports one PaddleOCR file as `name` without running its package's __init__."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        pkg = ".".join(parts[:i])
        if pkg not in sys.modules:
            module = types.ModuleType(pkg)
            module.__path__ = [os.path.join(root, *parts[:i])]
            sys.modules[pkg] = module
    spec = importlib.util.spec_from_file_location(name, os.path.join(root, relpath))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class OnnxRunner:
    """The Node process that runs the ONNX models (src/reference-onnx-runner.ts)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["npx", "--no-install", "tsx", "src/reference-onnx-runner.ts"],
            cwd=PACKAGE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def run(self, model, tensor):
        tensor = np.ascontiguousarray(tensor, dtype="<f4")
        header = json.dumps({"model": model, "dims": list(tensor.shape)}).encode()
        self.proc.stdin.write(struct.pack(">I", len(header)) + header + tensor.tobytes())
        self.proc.stdin.flush()
        (length,) = struct.unpack(">I", self.read(4))
        dims = json.loads(self.read(length))["dims"]
        count = int(np.prod(dims))
        return np.frombuffer(self.read(count * 4), dtype="<f4").reshape(dims).copy()

    def read(self, n):
        data = self.proc.stdout.read(n)
        if len(data) != n:
            raise RuntimeError("reference-onnx-runner ended early")
        return data

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class StandInPredictor:
    """Paddle Inference's predictor, input and output handles, backed by OnnxRunner.

    Keeps the last input and output so the caller can record them.
    """

    def __init__(self, runner, model):
        self.runner, self.model = runner, model
        self.last_input = self.last_output = None
        predictor = self

        class Input:
            def copy_from_cpu(self, array):
                predictor.last_input = np.array(array, dtype=np.float32)

        class Output:
            def copy_to_cpu(self):
                return predictor.last_output

        self.input, self.outputs = Input(), [Output()]

    def run(self):
        self.last_output = self.runner.run(self.model, self.last_input)

    def try_shrink_memory(self):
        pass


def short(v):
    """A float32 value in 9 significant digits: enough to give the same float32 back."""
    return float(f"{float(v):.9g}")


def summary(model, tensor):
    flat = tensor.reshape(-1).astype(np.float64)
    mean, std = LEVELS[model]
    c = tensor.shape[1]
    chw = tensor.reshape(c, -1).astype(np.float64)
    levels = np.stack([np.round((chw[i] * std[i] + mean[i]) * 255) for i in range(c)])
    levels = np.clip(levels, 0, 255).astype(np.uint8)
    n = flat.size
    # Spread by a large prime step, so they fall on text, background and padding alike.
    idx = [(k * 103183 + 331) % n for k in range(SAMPLES)]
    return {
        "dims": list(tensor.shape),
        "sum": float(flat.sum()),
        "levelsSha256": hashlib.sha256(levels.tobytes()).hexdigest(),
        "samples": [[i, short(tensor.reshape(-1)[i])] for i in idx],
    }


def read_image(path, alpha_to_color):
    """An image file as PaddleOCR reads it (see the module's docstring)."""
    unchanged = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if unchanged is not None and unchanged.ndim == 3 and unchanged.shape[2] == 4:
        if unchanged.dtype != np.uint8:
            raise ValueError(f"{path}: alpha with {unchanged.dtype} samples has no fixture")
        return alpha_to_color(unchanged)
    return cv2.imread(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paddleocr", required=True, help="a PaddleOCR 2.x checkout")
    parser.add_argument("--fixtures", default=os.path.join(HERE, "fixtures"))
    parser.add_argument("--out", default=os.path.join(HERE, "reference.json"))
    parser.add_argument(
        "--paddleocr-ref",
        default="",
        help="what the checkout is, for the record (e.g. its tag and commit)",
    )
    args = parser.parse_args()
    root = os.path.abspath(args.paddleocr)

    install_paddle_stand_in()
    sys.path.insert(0, root)
    operators = load("ppocr.data.imaug.operators", root, "ppocr/data/imaug/operators.py")
    db = load("ppocr.postprocess.db_postprocess", root, "ppocr/postprocess/db_postprocess.py")
    cls_post = load("ppocr.postprocess.cls_postprocess", root, "ppocr/postprocess/cls_postprocess.py")
    ppocr_utility = load("ppocr.utils.utility", root, "ppocr/utils/utility.py")
    load("ppocr.utils.logging", root, "ppocr/utils/logging.py")

    # ppocr.data and ppocr.postprocess import every dataset and decoder PaddleOCR has; the two
    # functions each class takes from them are given here over the modules loaded above.
    data = sys.modules["ppocr.data"]

    def create_operators(op_param_list, global_config=None):
        ops = []
        for operator in op_param_list:
            (name,) = operator
            ops.append(getattr(operators, name)(**(operator[name] or {})))
        return ops

    def transform(d, ops=None):
        for op in ops or []:
            d = op(d)
            if d is None:
                return None
        return d

    data.create_operators, data.transform = create_operators, transform
    post = sys.modules["ppocr.postprocess"]
    post_classes = {"DBPostProcess": db.DBPostProcess, "ClsPostProcess": cls_post.ClsPostProcess}

    def build_post_process(config, global_config=None):
        config = dict(config)
        return post_classes[config.pop("name")](**config)

    post.build_post_process = build_post_process

    utility = load("tools.infer.utility", root, "tools/infer/utility.py")
    runner = OnnxRunner()
    predictors = {}

    def create_predictor(a, mode, logger):
        model = {"det": "ppocr-det", "cls": "ppocr-cls"}[mode]
        predictors[mode] = p = StandInPredictor(runner, model)
        return p, p.input, p.outputs, None

    utility.create_predictor = create_predictor
    predict_det = load("tools.infer.predict_det", root, "tools/infer/predict_det.py")
    predict_cls = load("tools.infer.predict_cls", root, "tools/infer/predict_cls.py")

    settings = utility.init_args().parse_args([])
    settings.use_gpu = False
    detector = predict_det.TextDetector(settings)
    classifier = predict_cls.TextClassifier(settings)

    with open(os.path.join(args.fixtures, "fixtures.json")) as f:
        fixtures = json.load(f)
    results = []
    cls_items = []
    for fx in fixtures:
        img = read_image(os.path.join(args.fixtures, fx["file"]), ppocr_utility.alpha_to_color)
        h, w = img.shape[:2]
        if fx["model"] == "ppocr-cls":
            cls_items.append((fx, img))
            continue
        dt_boxes, _ = detector(img)
        p = predictors["det"]
        tensor, out = p.last_input, p.last_output
        # The scores of dt_boxes: DBPostProcess computes them but returns only the points, so
        # its box step runs again on the same map, and each box goes through the detector's
        # own filter to find the ones it kept (it keeps their order).
        mask = out[:, 0, :, :][0] > detector.postprocess_op.thresh
        raw, scores = detector.postprocess_op.boxes_from_bitmap(out[0, 0], mask, w, h)
        kept = []
        for box, score in zip(raw, scores):
            filtered = detector.filter_tag_det_res([box], img.shape)
            if len(filtered) == 1:
                kept.append({"points": filtered[0].tolist(), "score": short(score)})
        if [k["points"] for k in kept] != [b.tolist() for b in dt_boxes]:
            raise RuntimeError(f"{fx['file']}: recomputed boxes differ from TextDetector's")
        results.append(
            {
                "file": fx["file"],
                "model": "ppocr-det",
                "image": {"width": w, "height": h},
                "tensor": summary("ppocr-det", tensor),
                "output": {"dims": list(out.shape), "sum": float(out.astype(np.float64).sum())},
                "boxes": kept,
            }
        )

    # The classifier takes all lines at once, batched and sorted by aspect as PaddleOCR does.
    _, cls_res, _ = classifier([img for _, img in cls_items])
    for (fx, img), (label, confidence) in zip(cls_items, cls_res):
        tensor = classifier.resize_norm_img(img)[np.newaxis, :]
        output = runner.run("ppocr-cls", tensor)[0]
        results.append(
            {
                "file": fx["file"],
                "model": "ppocr-cls",
                "image": {"width": img.shape[1], "height": img.shape[0]},
                "tensor": summary("ppocr-cls", tensor),
                "output": [short(v) for v in output],
                "label": label,
                "confidence": short(confidence),
            }
        )
    runner.close()
    order = {fx["file"]: i for i, fx in enumerate(fixtures)}
    results.sort(key=lambda r: order[r["file"]])

    import pyclipper
    import shapely

    generator = {
        "script": "reference/paddleocr_reference.py",
        "paddleocr": args.paddleocr_ref or "unnamed checkout",
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "shapely": shapely.__version__,
        "pyclipper": getattr(pyclipper, "__version__", "Debian python3-pyclipper"),
        "settings": {
            k: getattr(settings, k)
            for k in [
                "det_algorithm",
                "det_limit_side_len",
                "det_limit_type",
                "det_box_type",
                "det_db_thresh",
                "det_db_box_thresh",
                "det_db_unclip_ratio",
                "use_dilation",
                "det_db_score_mode",
                "cls_image_shape",
                "label_list",
                "cls_batch_num",
                "cls_thresh",
            ]
        },
    }
    # One result a line: small diffs when the reference is recorded again.
    with open(args.out, "w") as f:
        f.write('{\n "generator": ' + json.dumps(generator) + ',\n "results": [\n  ')
        f.write(",\n  ".join(json.dumps(r) for r in results))
        f.write("\n ]\n}\n")
    print(f"recorded {len(results)} results in {args.out}")


if __name__ == "__main__":
    main()
