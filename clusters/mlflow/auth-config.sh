#!/bin/sh
# Write the config of MLflow's basic authentication (`mlflow server --app-name basic-auth`) from
# the environment, so that no password sits in the image or in a committed file:
#   MLFLOW_AUTH_CONFIG_PATH      where to write it (the server reads it from there too)
#   MLFLOW_AUTH_DATABASE_URI     the users/permissions store (here: the tracking PostgreSQL;
#                                MLflow keeps it apart with its own tables and version table)
# The admin account comes from MLFLOW_AUTH_ADMIN_USERNAME / MLFLOW_AUTH_ADMIN_PASSWORD (a
# secret; MLflow reads them itself, password at least 12 characters) and the CSRF key from
# MLFLOW_FLASK_SERVER_SECRET_KEY. Nobody has any permission until given one (NO_PERMISSIONS):
# create users with `mlflow.server.get_app_client("auth_app", ...)` or the /signup page.
set -eu
: "${MLFLOW_AUTH_CONFIG_PATH:?set MLFLOW_AUTH_CONFIG_PATH}"
: "${MLFLOW_AUTH_DATABASE_URI:?set MLFLOW_AUTH_DATABASE_URI}"
: "${MLFLOW_AUTH_ADMIN_PASSWORD:?set MLFLOW_AUTH_ADMIN_PASSWORD (a secret, 12+ characters)}"
: "${MLFLOW_FLASK_SERVER_SECRET_KEY:?set MLFLOW_FLASK_SERVER_SECRET_KEY (a secret)}"
umask 077
cat > "$MLFLOW_AUTH_CONFIG_PATH" <<INI
[mlflow]
default_permission = NO_PERMISSIONS
database_uri = $MLFLOW_AUTH_DATABASE_URI
admin_username = ${MLFLOW_AUTH_ADMIN_USERNAME:-admin}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
INI
