"""Python baseline for `urbis bench classify`: jieba words (1-2-grams) TF-IDF + LinearSVC.

Reads a JSON-lines file written by the Rust side, one object per message, either
    {"fold": 0, "label": "城乡建设", "text": "..."}        (cross-validation)
or  {"split": "train" | "test", "label": ..., "text": ...}  (hold-out)
With folds, for each fold k it trains on every other fold and predicts fold k; with a split, it trains on the
"train" rows and predicts the "test" rows. Text in, label out: jieba segments every text, whether it is raw or
already segmented (jieba keeps the words of segmented text and drops the spaces with the punctuation).
Timing covers the whole path a service would run: segmentation, vectorising, fitting or predicting.
Everything runs on one thread so the figure is per core.
Prints one JSON object on stdout with the predicted labels ("predictions": of the test rows in input order,
or of every row out of fold); the Rust side scores them with the same code as its own.
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
from sklearn.svm import LinearSVC  # noqa: E402


def tokenize(text):
    # Drops whitespace and punctuation-only tokens, as a careful practitioner would.
    return [w for w in jieba.lcut(text) if any(ch.isalnum() for ch in w)]


def fit_predict(train, test):
    """Trains on `train` rows and predicts `test` rows; returns (predictions, train seconds, predict seconds)."""
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
    return predicted.tolist(), t1 - t0, t2 - t1


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: baseline.py ROWS.jsonl")
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()  # dictionary loading is start-up cost, not per-message cost
    rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    train_seconds = predict_seconds = 0.0
    if all("split" in r for r in rows):
        train = [r for r in rows if r["split"] == "train"]
        test = [r for r in rows if r["split"] == "test"]
        predictions, train_seconds, predict_seconds = fit_predict(train, test)
        n_folds = 0
    else:
        n_folds = max(r["fold"] for r in rows) + 1
        predictions = [None] * len(rows)
        for fold in range(n_folds):
            train = [r for r in rows if r["fold"] != fold]
            held_out = [i for i, r in enumerate(rows) if r["fold"] == fold]
            predicted, fit_s, predict_s = fit_predict(train, [rows[i] for i in held_out])
            train_seconds += fit_s
            predict_seconds += predict_s
            for i, label in zip(held_out, predicted):
                predictions[i] = label
    result = {
        "system": "tfidf-jieba-1-2gram+LinearSVC",
        "sklearn": sklearn.__version__,
        "jieba": jieba.__version__,
        "folds": n_folds,
        "rows": len(rows),
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "n_predicted": len(predictions),
        "predictions": predictions,
    }
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
