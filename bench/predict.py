"""Predictive scoring benchmark: training and batch scoring against LightGBM called directly.

A synthetic company (`revmachine.predict.synthetic`: a known buying signal) is written to
a store, then, in the same run:

1. training: `revmachine predict train` end to end (features at every cut-off by SQL,
   LightGBM and the logistic baseline, calibration, validation, save) on at least
   `--train-rows` examples, against `lightgbm.train` called directly on the same training
   matrix with the same parameters and the same number of rounds (the baseline: what the
   library alone costs);
2. batch scoring: `revmachine predict score` end to end from the database (features of
   everyone as of now by SQL, encoding, prediction, calibration, writing `predictions`),
   against `Booster.predict` called directly on the same matrix.

    python bench/predict.py                                   # 1,000,000 people, SQLite
    python bench/predict.py --db postgresql://postgres@127.0.0.1:5432/bench
    python bench/predict.py --people 20000 --train-rows 20000  # quick

Goal (issue 9): batch scoring >= 1,000,000 people/minute end to end from the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb

from revmachine.config import default_workspace
from revmachine.predict import score_everyone, synthetic, train
from revmachine.predict.dataset import LABEL, examples_at
from revmachine.predict.features import build_features
from revmachine.predict.learn import LearningSettings
from revmachine.predict.model import BoostedScorer
from revmachine.store import migrate
from revmachine.store.database import Database

GOAL_PER_MINUTE = 1_000_000
DAYS = 360
HORIZON = dt.timedelta(days=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=1_000_000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        return run(Database(url), args.people, args.train_rows)


def run(db: Database, people: int, train_rows: int) -> int:
    migrate.upgrade(db)
    started = time.perf_counter()
    data = synthetic.company(people, days=DAYS, background_per_day=0.02, seed=5)
    with db.transaction() as conn:
        synthetic.load(conn, data, spells=False)  # no reports read this store
    print(
        f"store ({db.dialect}): {people:,} people, {data.activities.height:,} activities, "
        f"{data.transitions.height:,} stage moves, written in {time.perf_counter() - started:.1f} s"
    )
    now = data.end

    # Enough cut-offs for `train_rows` examples: about 3/4 of everyone is known and not
    # yet converted at a training cut-off.
    cutoffs = max(1, min(12, -(-train_rows // max(1, int(people * 0.7)))))
    started = time.perf_counter()
    report = train(db, default_workspace(), now, horizon=HORIZON, max_train_cutoffs=cutoffs)
    trained = time.perf_counter() - started
    model = report.model
    rows = report.examples["train"]
    figures = model.validation()
    print(
        f"\ntrain: {rows:,} training examples ({len(model.plan.train)} cut-offs), "
        f"{report.examples['calibrate']:,} calibration, {report.examples['validate']:,} "
        f"validation; chose {model.algorithm.value}: AUC {figures.auc:.3f}, ECE {figures.ece:.4f}"
    )

    # The baseline: LightGBM alone on the same training matrix, same parameters and rounds.
    with db.reading() as conn:
        part = examples_at(conn, model.config, model.target, model.plan.train, HORIZON)
    encoder = model.model.encoder
    matrix, labels = encoder.matrix(part), part.get_column(LABEL).to_numpy()
    rounds = int(model.metrics["lightgbm"]["rounds"]) + LearningSettings().early_stopping_rounds
    started = time.perf_counter()
    lgb.train(
        LearningSettings().lightgbm_params(len(matrix)),
        lgb.Dataset(
            matrix,
            label=labels,
            feature_name=encoder.names,
            categorical_feature=encoder.category_indices(),
        ),
        num_boost_round=rounds,
    )
    direct = time.perf_counter() - started
    print(f"  revmachine predict train, end to end:   {trained:8.1f} s")
    print(f"  lightgbm.train alone ({rounds} rounds):    {direct:8.1f} s")
    print(f"  ratio: {trained / direct:.2f}x baseline")

    started, cpu = time.perf_counter(), time.process_time()
    scored = score_everyone(db, model, now, now)
    end_to_end, end_to_end_cpu = time.perf_counter() - started, time.process_time() - cpu
    with db.reading() as conn:
        everyone = build_features(conn, model.config, now)
    matrix = encoder.matrix(everyone)
    scorer = model.model.scorer
    started = time.perf_counter()
    if isinstance(scorer, BoostedScorer):
        scorer.booster.predict(matrix, raw_score=True, num_threads=0)
    else:
        scorer.raw(matrix)
    library = time.perf_counter() - started
    rate = scored.people / end_to_end * 60
    print(f"\nbatch scoring: {scored.people:,} people (everyone not yet converted)")
    print(
        f"  revmachine predict score, end to end from the database: {end_to_end:6.1f} s "
        f"({end_to_end_cpu:.1f} s CPU in this process, database work included on SQLite)"
    )
    print(f"  {model.algorithm.value} predict alone on the same matrix:       {library:6.1f} s")
    print(f"  ratio: {end_to_end / library:.1f}x baseline")
    print(f"  {rate:,.0f} people/minute end to end (goal {GOAL_PER_MINUTE:,})")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
