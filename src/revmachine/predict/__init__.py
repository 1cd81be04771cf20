"""Predictive scoring: who is likely to convert soon — calibrated, explained, honest.

- `features`: features as of a cut-off, computed with SQL aggregates (no leakage);
- `dataset`: labelled examples at time-ordered cut-offs (train, calibrate, validate);
- `learn`, `model`, `encode`, `metrics`: pure fitting (LightGBM and a logistic baseline,
  Platt calibration) and evaluation (AUC, AP, lift, capture, calibration);
- `train`: the training and evaluation use cases; `model_store`: versioned models;
- `scoring`: `predict_people`, bulk scoring into `prediction_history`, stored predictions;
- `explain`: a prediction's reasons in words.
"""

from revmachine.predict.dataset import DEFAULT_TARGET, NotEnoughHistory, Target, UnknownStage
from revmachine.predict.explain import PredictionExplanation, Reason, explain_prediction
from revmachine.predict.learn import LearningSettings, NotEnoughData
from revmachine.predict.metrics import Evaluation, NotEvaluable
from revmachine.predict.model_store import NoModel, StoredModel, list_models, load_model
from revmachine.predict.scoring import (
    ScoringRun,
    StoredPrediction,
    predict_people,
    score_everyone,
    stored_prediction,
    stored_predictions,
)
from revmachine.predict.train import (
    DEFAULT_HORIZON,
    ModelEvaluation,
    TrainingReport,
    evaluate_model,
    train,
)

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_TARGET",
    "Evaluation",
    "LearningSettings",
    "ModelEvaluation",
    "NoModel",
    "NotEnoughData",
    "NotEnoughHistory",
    "NotEvaluable",
    "PredictionExplanation",
    "Reason",
    "ScoringRun",
    "StoredModel",
    "StoredPrediction",
    "Target",
    "TrainingReport",
    "UnknownStage",
    "evaluate_model",
    "explain_prediction",
    "list_models",
    "load_model",
    "predict_people",
    "score_everyone",
    "stored_prediction",
    "stored_predictions",
    "train",
]
