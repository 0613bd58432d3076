"""The LDOS network, its LightningModule, physical metrics and inference from a checkpoint.

from ldos_surrogate.models import LdosPredictor
prediction = LdosPredictor.from_checkpoint("run/checkpoints/best.ckpt").predict(atoms, (18, 18, 18))
prediction.write("out/")  # density.cube, energies.json
"""

from ldos_surrogate.models.predictor import LdosPredictor, Prediction

__all__ = ["LdosPredictor", "Prediction"]
