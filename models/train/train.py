"""Train the anomaly model of contract v1 (schemas/model/contract.md) and export it to ONNX.

Reads the training set written by bench/score/trainset.ts (x.npy float32 [rows, F], y.npy uint8
classes, group.npy the series of each row, meta.json), fits a binary classifier (any fault vs
healthy), checks it on a validation split made of whole tags (windows of one tag overlap, so a
row-wise split would leak), and writes:

  <out>/anomaly-v1.onnx   input `input` float32 [N, F]; output `score` float32 [N, 1] = P(fault)
  <out>/anomaly-v1.json   metadata: contract, window, features, seed, date, versions, validation metrics

Usage (see models/README.md):
  .fieldstream/train-venv/bin/python models/train/train.py --data .fieldstream/trainset --out models
"""
import argparse
import datetime
import json
import os
import time

# One BLAS thread: on a shared 2-core machine oversubscribed BLAS threads made the fit 10x slower.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np
import onnx
import sklearn
import skl2onnx
from onnx import helper, TensorProto
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CLASSES = ['normal', 'spike', 'drift', 'stuck', 'oscillation', 'dropout']


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='folder written by bench/score/trainset.js')
    p.add_argument('--out', default='models', help='where anomaly-v1.onnx and anomaly-v1.json go')
    p.add_argument('--name', default='anomaly-v1')
    p.add_argument('--seed', type=int, default=7, help='seed of the split and of the fit')
    p.add_argument('--hidden', default='32,16', help='MLP hidden layer sizes, comma-separated')
    p.add_argument('--epochs', type=int, default=40)
    p.add_argument('--verbose', action='store_true', help='print the loss of each epoch')
    p.add_argument('--max-false-alarm-rate', type=float, default=2e-4, help='threshold choice: highest tolerated share of healthy validation windows in alarm')
    p.add_argument('--validation-share', type=float, default=0.2, help='share of tags held out for validation')
    return p.parse_args()


def split_by_tag(group, share, rng):
    tags = np.unique(group)
    held = rng.choice(tags, size=max(1, int(round(len(tags) * share))), replace=False)
    val = np.isin(group, held)
    return ~val, val


def window_metrics(p, y, threshold):
    """Window-level figures on the validation split: recall per fault class, false alarm rate on healthy windows."""
    alarm = p >= threshold
    out = {'threshold': threshold, 'healthy_windows': int((y == 0).sum()),
           'false_alarm_rate': float(alarm[y == 0].mean()) if (y == 0).any() else None}
    positives = alarm[y > 0].sum()
    out['window_precision'] = float(positives / max(1, alarm.sum()))
    for c, name in enumerate(CLASSES):
        if c == 0 or not (y == c).any():
            continue
        out[f'recall_{name}'] = float(alarm[y == c].mean())
    return out


def to_onnx(model, features, path):
    """skl2onnx export (no ZipMap), then one Slice node so the graph's only output is `score` [N, 1] = P(fault)."""
    onx = convert_sklearn(model, initial_types=[('input', FloatTensorType([None, features]))],
                          options={id(model): {'zipmap': False}}, target_opset=17)
    g = onx.graph
    probs = next(o for o in g.output if o.name == 'probabilities')
    consts = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (('score_start', 1), ('score_end', 2), ('score_axis', 1))]
    g.initializer.extend(consts)
    g.node.append(helper.make_node('Slice', [probs.name, 'score_start', 'score_end', 'score_axis'], ['score'], name='score_of_fault'))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info('score', TensorProto.FLOAT, [None, 1]))
    onx.doc_string = 'fieldstream anomaly model, contract v1: input float32 [N, %d], output score float32 [N, 1] in [0, 1]' % features
    onnx.checker.check_model(onx)
    with open(path, 'wb') as f:
        f.write(onx.SerializeToString())
    return onx


def main():
    a = parse_args()
    meta = json.load(open(os.path.join(a.data, 'meta.json')))
    x = np.load(os.path.join(a.data, 'x.npy'))
    y = np.load(os.path.join(a.data, 'y.npy'))
    group = np.load(os.path.join(a.data, 'group.npy'))
    assert x.shape[1] == meta['features'], f"x has {x.shape[1]} columns, meta says {meta['features']}"
    rng = np.random.default_rng(a.seed)
    tr, va = split_by_tag(group, a.validation_share, rng)
    hidden = tuple(int(h) for h in a.hidden.split(','))
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=hidden, activation='relu', alpha=1e-4, batch_size=512,
                                                          learning_rate_init=1e-3, max_iter=a.epochs, early_stopping=True,
                                                          n_iter_no_change=5, random_state=a.seed, verbose=a.verbose))
    t0 = time.time()
    model.fit(x[tr], (y[tr] > 0).astype(np.int64))
    fit_seconds = time.time() - t0
    p = model.predict_proba(x[va])[:, 1]
    grid = [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995]
    by_threshold = [window_metrics(p, y[va], t) for t in grid]
    # The alarm threshold: the lowest on the grid whose false alarm rate on healthy validation
    # windows is at most --max-false-alarm-rate (alarm events, not windows, are what operators
    # see; one in a few thousand healthy windows keeps them rare).
    fitting = [m for m in by_threshold if m['false_alarm_rate'] <= a.max_false_alarm_rate]
    threshold = fitting[0]['threshold'] if fitting else grid[-1]
    metrics = {'rows_train': int(tr.sum()), 'rows_validation': int(va.sum()), 'fit_seconds': round(fit_seconds, 1),
               'max_false_alarm_rate': a.max_false_alarm_rate, 'threshold': threshold, 'by_threshold': by_threshold}
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, a.name + '.onnx')
    to_onnx(model, x.shape[1], onnx_path)
    info = {
        'name': a.name,
        'contract': meta['contract'],
        'window': meta['window'],
        'features': meta['features'],
        'summary_features': meta['summary_features'],
        'input': {'name': 'input', 'type': 'float32', 'shape': ['N', meta['features']]},
        'output': {'name': 'score', 'type': 'float32', 'shape': ['N', 1], 'meaning': 'P(window shows a fault) in [0, 1]'},
        'model': f'StandardScaler + MLPClassifier(hidden={hidden}, relu), binary: any fault vs healthy',
        'training_set': {k: meta[k] for k in ('seed', 'tags', 'hours', 'hop', 'keep_normal', 'startup_seed', 'startup_tags', 'startup_seconds',
                                              'startup_keep_normal', 'startup_kinds', 'shapes', 'rows', 'per_class', 'faults') if k in meta},
        'training_seed': a.seed,
        'trained_at': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'versions': {'sklearn': sklearn.__version__, 'skl2onnx': skl2onnx.__version__, 'onnx': onnx.__version__, 'numpy': np.__version__},
        'threshold': threshold,
        'validation': metrics,
        'onnx_bytes': os.path.getsize(onnx_path),
    }
    with open(os.path.join(a.out, a.name + '.json'), 'w') as f:
        json.dump(info, f, indent=2)
        f.write('\n')
    print(json.dumps({'onnx': onnx_path, 'bytes': info['onnx_bytes'], 'fit_seconds': metrics['fit_seconds'], 'threshold': threshold, 'validation': next(m for m in by_threshold if m['threshold'] == threshold)}))


if __name__ == '__main__':
    main()
