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
