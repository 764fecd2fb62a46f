"""Register a sweep's confirmed winner in MLflow's model registry.

Only a setting that beat the baseline over seeds is registered: the search trial that found
it (its full schedule, its best checkpoint), not one of the confirmation's shorter reruns.
The model version carries the confirmation's numbers as tags, so the registry says why this
model was chosen. A trial without a checkpoint (the toy trainer) is reported, not an error:
the verdict stands either way.
"""

from __future__ import annotations

from typing import Any

from detlab.errors import UserError

__all__ = ["register_winner"]


def register_winner(conf: Any, spec: Any, tracking_uri: str, out: Any) -> str:
    """Register ``conf.winner``'s search run as ``confirm.model_name`` (default: the study name).
    Returns the ``models:/NAME/VERSION`` URI, or "" when nothing was registered (and says why)."""
    confirm = spec.confirm
    if conf.winner is None or not confirm.register_winner:
        return ""
    setting = conf.winner.setting
    name = confirm.model_name or spec.name
    if not setting.run_id:
        print(f"winner {setting.name} not registered: its search trial {setting.trial} has no MLflow run", file=out)
        return ""
    from detlab.inference.registry import log_run_model
    from detlab.tracking.client import make_client

    try:
        logged = log_run_model(setting.run_id, tracking_uri, register=name)
    except UserError as err:
        print(f"winner {setting.name} not registered: {err}", file=out)
        return ""
    reg = logged["registered"]
    tags = {
        "detlab.confirm.metric": conf.metric,
        "detlab.confirm.alpha": str(conf.alpha),
        "detlab.confirm.seeds": ",".join(str(s) for s in conf.winner.seeds),
        "detlab.confirm.parent_run_id": conf.parent_run_id,
        "detlab.confirm.mean": f"{conf.winner.mean:.6g}",
    }
    if conf.winner.test is not None:
        tags["detlab.confirm.delta"] = f"{conf.winner.test.delta:.6g}"
        if conf.winner.test.p_value is not None:
            tags["detlab.confirm.p_value"] = f"{conf.winner.test.p_value:.6g}"
    client = make_client(tracking_uri)
    for key, value in tags.items():
        client.set_model_version_tag(reg["name"], str(reg["version"]), key, value)
    print(
        f"registered the confirmed winner {setting.name} (trial {setting.trial}, run {setting.run_id}) as {reg['uri']}",
        file=out,
    )
    return reg["uri"]
