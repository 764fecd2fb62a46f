"""The typed study spec: what `experiments/studies/*.yaml` may say, and nothing else.

Every model forbids unknown keys, so a misspelt field is an error instead of a
default silently taken. Checks that need only the spec live here (ranges,
sampler/dimension compatibility); checks against the base config and the
cluster live in `load.py` and `space.py`; `reference.py` renders these models as the
field tables of docs/studies.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    field_validator,
    model_validator,
)

from detlab.limits import PLACEMENT_TIMEOUT_S

__all__ = [
    "StudySpec",
    "DatasetSpec",
    "Dimension",
    "ObjectiveSpec",
    "SamplerSpec",
    "SchedulerSpec",
    "TrialsSpec",
    "ResourcesSpec",
    "MlflowSpec",
    "StorageSpec",
    "ConfirmSpec",
    "CellEntry",
    "CellGrid",
    "CELL_DIM",
    "CLA_BASELINE",
    "SEED_KEY",
    "choice_label",
    "same_label",
]

SEED_KEY = "seed"
CELL_DIM = "cell"  # the search dimension of a grid of cells (`StudySpec.cells`): a label, not a config key
"""Name of the training seed in a trial's Tune config; no search key may use it."""


def _number(value: Any) -> int | float:
    """Keep ints as ints (int dimensions need them) and refuse booleans and text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    return value


Number = Annotated[int | float, PlainValidator(_number)]
"""A number that stays an int when written as one."""


def choice_label(value: Any) -> Any:
    """How a choice/grid value appears to Tune and Optuna: itself if a plain scalar, else its repr."""
    return value if isinstance(value, (type(None), bool, int, float, str)) else repr(value)


def same_label(a: Any, b: Any) -> bool:
    """Equal and of one type, so that True is not 1 and 1 is not 1.0."""
    return type(a) is type(b) and a == b


def _unique_seeds(seeds: list[int]) -> list[int]:
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"lists a seed twice: {seeds}")
    return seeds


UniqueSeeds = Annotated[list[int], AfterValidator(_unique_seeds)]
"""The training seeds of a study or an ablation: each at most once (cells are paired by seed)."""


def overrides_field(description: str) -> Any:
    """A ``dotted.key -> value`` mapping field, empty by default (every spec level has one)."""
    return Field(default_factory=dict, description=description)


class StrictSpec(BaseModel):
    """Base of every spec section: unknown keys are errors, as in Ray's release-test specs."""

    model_config = ConfigDict(extra="forbid")

    def _explicit(self, *names: str) -> list[str]:
        """Those of `names` given a value other than their default (so a dumped spec reloads)."""
        fields = type(self).model_fields
        return [n for n in names if n in self.model_fields_set and getattr(self, n) != fields[n].default]


class DatasetSpec(StrictSpec):
    """Which data the trials train and evaluate on."""

    name: Literal["hrsc2016", "dota"] = Field(
        description="Dataset family; picks the evaluator (DOTA v1.0 Task1 VOC07, or HRSC2016 VOC07 and VOC12)."
    )
    root: str | None = Field(
        None,
        description="Directory holding the data, absolute or relative to the repository root; "
        "null keeps the paths of the base config.",
    )


class Dimension(StrictSpec):
    """One search dimension over a dotted config key.

    `uniform`/`loguniform`: floats in [low, high]. `int`: integers low, low+step, ..., high,
    both ends included. `choice`: one of `values`, sampled. `grid`: every one of `values`.
    """

    type: Literal["uniform", "loguniform", "int", "choice", "grid"] = Field(
        description="How values are drawn: uniform, loguniform (low > 0), int (both ends included), "
        "choice (sampled from values) or grid (every value; sampler grid only)."
    )
    low: Number | None = Field(None, description="Lower bound, included (uniform, loguniform, int).")
    high: Number | None = Field(
        None, description="Upper bound, included (uniform, loguniform, int); must be above low."
    )
    step: int | None = Field(
        None,
        ge=1,
        description="int only: spacing of the values (default 1); with step > 1, low and high must be multiples of it.",
    )
    values: list[Any] | None = Field(
        None,
        description="choice and grid: the values, any YAML (numbers, booleans, strings, lists, maps); no duplicates.",
    )

    @model_validator(mode="after")
    def _check(self) -> Dimension:
        ranged = self.type in ("uniform", "loguniform", "int")
        wrong = self._explicit("values") if ranged else self._explicit("low", "high", "step")
        if self.type != "int" and not wrong:
            wrong = self._explicit("step")
        if wrong:
            raise ValueError(f"{wrong[0]} does not apply to type {self.type}")
        if ranged:
            self._check_range()
        else:
            self._check_values()
        return self

    def _check_range(self) -> None:
        if self.low is None or self.high is None:
            raise ValueError(f"type {self.type} needs low and high")
        if self.type == "int":
            if not (isinstance(self.low, int) and isinstance(self.high, int)):
                raise ValueError(f"type int needs integer low and high, got {self.low!r} and {self.high!r}")
            step = self.step or 1
            if step > 1 and (self.low % step or self.high % step):
                raise ValueError(
                    f"with step {step}, low ({self.low}) and high ({self.high}) must be multiples "
                    "of it (Ray Tune draws multiples of step)"
                )
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high}); put a constant in overrides")
        if self.type == "loguniform" and self.low <= 0:
            raise ValueError(f"loguniform needs low > 0, got {self.low}")

    def _check_values(self) -> None:
        if not self.values:
            raise ValueError(f"type {self.type} needs a non-empty values list")
        labels = [choice_label(v) for v in self.values]
        for i, label in enumerate(labels):
            if any(same_label(label, other) for other in labels[:i]):
                raise ValueError(f"values lists {label!r} twice")

    def candidates(self) -> list[Any]:
        """Values worth checking against the config: both bounds, or every value."""
        return list(self.values) if self.values is not None else [self.low, self.high]


class ObjectiveSpec(StrictSpec):
    """What the search optimises."""

    metric: str = Field(
        "val/mAP_voc07",
        min_length=1,
        description="Metric reported at each evaluation, e.g. val/mAP_voc07, val/mAP_voc12 (HRSC2016).",
    )
    mode: Literal["max", "min"] = Field("max", description="Whether higher (max) or lower (min) is better.")


class SamplerSpec(StrictSpec):
    """How configurations are proposed."""

    type: Literal["tpe", "random", "grid"] = Field(
        "tpe",
        description="tpe: Optuna TPE; random: Optuna random sampling; grid: every combination of "
        "the grid and choice dimensions (ablations), no Optuna.",
    )
    seed: int = Field(0, description="Seed of the Optuna sampler (tpe, random); unused by grid.")
    n_startup_trials: int = Field(10, ge=0, description="tpe only: random trials before TPE starts modelling.")

    @model_validator(mode="after")
    def _check(self) -> SamplerSpec:
        if self.type != "tpe" and self._explicit("n_startup_trials"):
            raise ValueError(f"n_startup_trials applies to type tpe only, not {self.type}")
        return self


class SchedulerSpec(StrictSpec):
    """Early stopping of poor trials."""

    type: Literal["asha", "none"] = Field(
        "none",
        description="asha: Ray Tune's ASHA (async successive halving); none: every trial runs its full schedule.",
    )
    grace_period: int = Field(1, ge=1, description="asha: evaluations a trial gets before it can be stopped.")
    reduction_factor: float = Field(4.0, gt=1, description="asha: 1/reduction_factor of the trials go on at each rung.")
    max_t: int | None = Field(
        None,
        ge=1,
        description="asha: evaluations in a full trial (Tune's training_iteration, one per "
        "evaluation); null: runner.max_epochs / evaluation.interval of the base "
        "config with the overrides applied.",
    )

    @model_validator(mode="after")
    def _check(self) -> SchedulerSpec:
        if self.type == "none":
            wrong = self._explicit("grace_period", "reduction_factor", "max_t")
            if wrong:
                raise ValueError(f"{wrong[0]} applies to type asha only")
        elif self.max_t is not None and self.grace_period > self.max_t:
            raise ValueError(f"grace_period ({self.grace_period}) must not exceed max_t ({self.max_t})")
        return self


class TrialsSpec(StrictSpec):
    """How many trials, and how many at once."""

    num_samples: int = Field(
        ge=1,
        description="tpe/random: trials to run; grid: repeats of the whole grid (keep 1, repeat with seeds instead).",
    )
    max_concurrent: int = Field(1, ge=1, description="Trials running at the same time; more wait for resources.")


class ResourcesSpec(StrictSpec):
    """What one trial takes: a Ray Train TorchTrainer with this many workers."""

    workers_per_trial: int = Field(1, ge=1, description="Ray Train workers (DDP processes) per trial.")
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs each worker reserves.")
    gpus_per_worker: float = Field(0.0, ge=0, description="GPUs each worker reserves (0: train on CPU, gloo).")
    placement_timeout_s: float = Field(
        PLACEMENT_TIMEOUT_S,
        gt=0,
        description="Seconds a trial's workers may wait to be placed on the cluster; past it the "
        "trial ends FAILED with what it waited for and what the cluster had free.",
    )


class MlflowSpec(StrictSpec):
    """Where the study is recorded."""

    experiment: str | None = Field(
        None, description="MLflow experiment holding the study's parent run; null: the study name."
    )
    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking URI; null: $MLFLOW_TRACKING_URI, else a local SQLite store (detlab.tracking.uri).",
    )


class StorageSpec(StrictSpec):
    """Where search state persists, so a study can be resumed."""

    optuna: str | None = Field(
        None,
        description="Optuna storage (tpe, random): an RDB URL (sqlite:///..., postgresql://...) or a "
        "file path relative to the repository root (a SQLite file); null: the runner's "
        "default beside the Ray Tune results.",
    )


CLA_BASELINE: dict[str, Any] = {
    "model.train_cfg.assigner.radius": 0.5,
    "model.train_cfg.assigner.num_neighbors": 3,
    "model.train_cfg.assigner.pos_iou_thr": 0.5,
    "model.train_cfg.assigner.neg_iou_thr": 0.4,
}
"""The paper's CLA setting: the default confirmation baseline of studies that search the assigner."""


class ConfirmSpec(StrictSpec):
    """After the search: the best settings and a baseline trained again over seeds, and tested."""

    top_k: int = Field(
        3,
        ge=1,
        description="How many of the best finished trials' settings (distinct, by the objective) are trained again.",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0, 1, 2],
        min_length=2,
        description="Seeds each setting and the baseline train with (paired by seed in the test).",
    )
    baseline: dict[str, Any] | None = Field(
        None,
        description="Dotted config key -> value: the setting to beat, over the base config and overrides; "
        "null: the paper's CLA setting (radius 0.5, num_neighbors 3, pos_iou_thr 0.5, "
        "neg_iou_thr 0.4) when the search space has model.train_cfg.assigner keys, else the "
        "base config as it is.",
    )
    alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Significance level of the paired t-test against the "
        "baseline; a winner must beat it at this level.",
    )
    overrides: dict[str, Any] = overrides_field(
        "Dotted config key -> value for the confirmation trials only, after "
        "the study's overrides (e.g. a shorter schedule for a smoke study)."
    )
    register_winner: bool = Field(
        True,
        description="Register the winner (its search trial's best checkpoint, logged as "
        "an MLflow model) in MLflow's model registry; nothing is registered "
        "when no setting beats the baseline.",
    )
    model_name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Registered-model name for the winner; null: the study's name.",
    )

    @model_validator(mode="after")
    def _distinct_seeds(self) -> ConfirmSpec:
        twice = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
        if twice:
            raise ValueError(f"seeds: lists seed {twice[0]} twice")
        return self

    def baseline_for(self, search_space: dict[str, Any]) -> dict[str, Any]:
        """The baseline override set, the default filled in."""
        if self.baseline is not None:
            return dict(self.baseline)
        if any(k.lstrip("+").startswith("model.train_cfg.assigner.") for k in search_space):
            return dict(CLA_BASELINE)
        return {}


class CellEntry(StrictSpec):
    """One cell of a generated grid: its own base config and overrides."""

    config: str = Field(description="Absolute path of the cell's base config.")
    overrides: dict[str, Any] = overrides_field("The cell's overrides, in order.")
    fingerprint: str = Field(
        description="sha256 prefix of the cell's merged config and data: what a reused run must match."
    )


class CellGrid(StrictSpec):
    """A grid of named cells with configs of their own: written by `detlab ablate` and a sweep's
    confirmation stage, never by hand. The study's one search dimension is then `cell`."""

    ablation: str = Field(description="The grid's name (the `detlab.ablation` tag of its runs).")
    trainer: str = Field(description="The trainer each cell runs with (a `--trainer` name or module:function).")
    reuse: bool = Field(True, description="A cell with a FINISHED run of the same fingerprint is not retrained.")
    metric: str = Field(description="The metric the grid compares.")
    cells: dict[str, CellEntry] = Field(min_length=1, description="Cell name -> cell.")


class SpecFile(StrictSpec):
    """A whole spec file (a study, an ablation): it remembers the file it came from, for error lines,
    and the folder its relative paths start from (the repository root)."""

    _source: str = PrivateAttr("<spec>")
    _root: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def source(self) -> str:
        """The spec file as the user named it (for error messages)."""
        return self._source

    @property
    def root(self) -> Path:
        """The folder relative paths in the spec start from (the repository root)."""
        return self._root

    def resolve(self, path: str) -> Path:
        """A path from the spec, made absolute against the repository root."""
        return self._root / Path(path).expanduser()


class StudySpec(SpecFile):
    """A study: one base config, a search space over its keys, and how to run the search."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Study name (default: the spec file's name without .yaml); names the Tune run.",
    )
    description: str = Field("", description="One or two sentences: what the study asks.")
    base_config: str = Field(
        min_length=1,
        description="MMRotate config file (.py) every trial starts from, relative to the "
        "repository root (the nearest folder above the spec with a pyproject.toml).",
    )
    dataset: DatasetSpec = Field(description="The data (section below).")
    overrides: dict[str, Any] = overrides_field(
        "Dotted config key -> value applied to every trial before the sampled values (`+key` adds a key)."
    )
    search_space: dict[str, Dimension] = Field(
        description="Dotted config key -> dimension (section below); at least one."
    )
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec, description="Section below.")
    sampler: SamplerSpec = Field(default_factory=SamplerSpec, description="Section below.")
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec, description="Section below.")
    trials: TrialsSpec = Field(description="Section below.")
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec, description="Section below.")
    seeds: UniqueSeeds = Field(
        default_factory=lambda: [0],
        min_length=1,
        description="Training seeds; several only with sampler grid, where the seed is one more grid "
        "dimension (so each cell gives mean and std).",
    )
    mlflow: MlflowSpec = Field(default_factory=MlflowSpec, description="Section below.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Section below.")
    confirm: ConfirmSpec | None = Field(
        None,
        description="A confirmation stage after the search (section below); null: none, the leaderboard's "
        "best single run is all there is.",
    )
    cells: CellGrid | None = Field(
        None,
        description="Generated studies only (ablations, a confirmation stage): cells with configs of their "
        "own; `search_space` is then the one grid dimension `cell` over their names.",
    )

    @field_validator("search_space")
    @classmethod
    def _not_empty(cls, space: dict[str, Dimension]) -> dict[str, Dimension]:
        if not space:
            raise ValueError("is empty: give at least one dimension (with nothing to search, use overrides)")
        return space

    @model_validator(mode="after")
    def _check(self) -> StudySpec:
        if self.cells is not None:
            dim = self.search_space.get(CELL_DIM)
            if set(self.search_space) != {CELL_DIM} or dim is None or dim.values != list(self.cells.cells):
                raise ValueError(
                    f"cells: the search space must be the one grid dimension {CELL_DIM!r} over the cells' names"
                )
        fixed = {k.lstrip("+") for k in self.overrides}
        for key, dim in self.search_space.items():
            where = f"search_space.{key}"
            if key.lstrip("+") == SEED_KEY:
                raise ValueError(f"{where}: '{SEED_KEY}' is reserved for the training seed; use seeds")
            if key.lstrip("+") in fixed:
                raise ValueError(f"{where}: also set in overrides; keep it in one place")
            if self.sampler.type == "grid" and dim.type not in ("grid", "choice"):
                raise ValueError(f"{where}: sampler grid takes only grid and choice dimensions, not {dim.type}")
            if self.sampler.type != "grid" and dim.type == "grid":
                raise ValueError(
                    f"{where}: type grid needs sampler.type grid (Optuna cannot enumerate a grid); use choice"
                )
        if len(self.seeds) > 1 and self.sampler.type != "grid":
            raise ValueError(
                f"seeds: several seeds need sampler.type grid; a {self.sampler.type} trial trains "
                "one seed (re-run its best configuration in a grid study)"
            )
        if self.mlflow.experiment is None:
            self.mlflow.experiment = self.name
        return self

    @property
    def experiment(self) -> str:
        """The MLflow experiment of the study (`mlflow.experiment`, filled with the name when null)."""
        return self.mlflow.experiment or self.name
