"""Python baseline for `urbis bench classify`: jieba words (1-2-grams) TF-IDF + LinearSVC.

Reads a JSON-lines file written by the Rust side, one object per message:
    {"fold": 0, "label": "城乡建设", "text": "..."}
For each fold k it trains on every other fold and predicts fold k, raw text in, label out.
Timing covers the whole path a service would run: segmentation, vectorising, fitting or predicting.
Everything runs on one thread so the figure is per core.
Prints one JSON object on stdout (out-of-fold predictions pooled over all folds).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import jieba  # noqa: E402
import sklearn  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402


def tokenize(text):
    # Drops whitespace and punctuation-only tokens, as a careful practitioner would.
    return [w for w in jieba.lcut(text) if any(ch.isalnum() for ch in w)]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: baseline.py FOLDS.jsonl")
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()  # dictionary loading is start-up cost, not per-message cost
    rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    n_folds = max(r["fold"] for r in rows) + 1
    y_true, y_pred = [], []
    train_seconds = predict_seconds = 0.0
    n_predicted = 0
    for fold in range(n_folds):
        train = [r for r in rows if r["fold"] != fold]
        test = [r for r in rows if r["fold"] == fold]
        t0 = time.perf_counter()
        vectorizer = TfidfVectorizer(
            tokenizer=tokenize, token_pattern=None, lowercase=True, ngram_range=(1, 2), sublinear_tf=True
        )
        x_train = vectorizer.fit_transform([r["text"] for r in train])
        svm = LinearSVC(C=1.0)
        svm.fit(x_train, [r["label"] for r in train])
        t1 = time.perf_counter()
        predicted = svm.predict(vectorizer.transform([r["text"] for r in test]))
        t2 = time.perf_counter()
        train_seconds += t1 - t0
        predict_seconds += t2 - t1
        n_predicted += len(test)
        y_true.extend(r["label"] for r in test)
        y_pred.extend(predicted.tolist())
    result = {
        "system": "tfidf-jieba-1-2gram+LinearSVC",
        "sklearn": sklearn.__version__,
        "jieba": jieba.__version__,
        "folds": n_folds,
        "rows": len(rows),
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro"),
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "n_predicted": n_predicted,
        "predict_per_second": n_predicted / predict_seconds if predict_seconds > 0 else 0.0,
    }
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
