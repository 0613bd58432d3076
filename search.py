"""Hyperparameter search: ``python search.py [hparams_search=<method>] [key=value ...]``.

Methods (``conf/hparams_search/``): optuna (the default), optuna_naswot, direct, oat, naswot,
naswot_optimized, acsd. The same as the installed command ``ldos-search``
(`ldos_surrogate.apps`), with this clone as the workspace. Each trained trial runs the task
function of train.py. The search folder ``logs/search/<search.name>`` holds ``results.csv``,
``report.png``, the Optuna study (every trial of every method; workers of one search share it),
one folder per trial and seed and the best trial as
``configs/experiment/<search.name>.yaml``, which is also written to the user configs
``configs/experiment/`` of the clone (``python train.py experiment=<name>``).
"""

from ldos_surrogate import apps

if __name__ == "__main__":
    apps.use_clone_as_root(__file__)
    apps.search()
