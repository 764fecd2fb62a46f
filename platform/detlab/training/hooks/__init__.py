"""The mmcv hooks a training adds to mmdet's loop: progress, CLA statistics, evaluation, reports, MLflow."""
