"""The LDOS network, its LightningModule, physical metrics and inference from a checkpoint.

from ldos_surrogate.models import LdosPredictor
prediction = LdosPredictor.from_checkpoint("run/checkpoints/best.ckpt").predict(atoms, (18, 18, 18))
prediction.write("out/")  # density.cube, energies.json

"Eq. N" and "seed Eq. N" are the equations of the seed paper (Fiedler et al., Mach. Learn.:
Sci. Technol. 3, 045008 (2022); all references: the docstring of `ldos_surrogate`).
"""

from ldos_surrogate.models.predictor import LdosPredictor, Prediction

__all__ = ["LdosPredictor", "Prediction"]
