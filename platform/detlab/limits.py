"""Default bounds of the platform's waits, in one place (docs/reliability.md lists every wait).

Every wait on Ray, MLflow or a storage has a bound and ends with a one-line reason; the
defaults live here so that the spec fields, CLI flags and the code that waits agree.
"""

from __future__ import annotations

# a trial's workers waiting to be placed on the cluster, all start tries together
# (study spec `resources.placement_timeout_s`, `detlab train --placement-timeout`)
PLACEMENT_TIMEOUT_S = 600.0

# a driver that ends a run waits this long for its training processes to let go of their
# MLflow spool sessions (a Ray worker is killed after its loop returns; forked data loaders
# hold the session's lock until they exit too)
SESSION_EXIT_S = 30.0

# the Optuna storage: SQLite waits this long for its write lock (the trials and the driver share
# the file); a database server must accept a connection within OPTUNA_CONNECT_S, and a pooled
# connection must be free within OPTUNA_POOL_S
OPTUNA_SQLITE_LOCK_S = 60.0
OPTUNA_CONNECT_S = 10
OPTUNA_POOL_S = 30.0

# MLflow: each HTTP request (no retries inside MLflow's client; DETLAB_MLFLOW_HTTP_TIMEOUT
# overrides), creating a run (retried while the server is unreachable), and the delivery of
# what a run recorded when it ends (the rest stays in the spool for `detlab mlflow sync`)
MLFLOW_HTTP_TIMEOUT_S = 10
MLFLOW_CREATE_RUN_S = 60.0
MLFLOW_FLUSH_S = 60.0

# the end of a sweep: settling every trial's MLflow run (status, tags)
SETTLE_S = 120.0
