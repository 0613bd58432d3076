"""Train the LDOS network: ``python train.py [group=option ...] [key=value ...]``.

Examples: ``python train.py trainer=gpu``, ``python train.py logger=csv model.optimizer.lr=3e-4``,
``python train.py experiment=be2_small``. The same as the installed command ``ldos-train``
(`ldos_surrogate.apps`), with this clone as the workspace: its ``data/``, ``logs/`` and user
``configs/``. The configs live in ``conf/`` (train.yaml and its groups); the run directory
``logs/train/runs/<time>`` keeps the composed config, the checkpoints, ``metrics.json`` and
the plots.
"""

from ldos_surrogate import apps

if __name__ == "__main__":
    apps.use_clone_as_root(__file__)
    apps.train()
