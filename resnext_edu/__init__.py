"""resnext_edu: the helper package of the resnext-edu course (Xie et al., "Aggregated Residual Transformations for
Deep Neural Networks", CVPR 2017).

The modules follow the lessons (01 the ResNet block ... 06 training ResNeXt-29):

* :mod:`~resnext_edu.blocks`: ResNet blocks and the ResNeXt block in the three forms of Fig. 3, ``convert`` (01-03)
* :mod:`~resnext_edu.inspect_shapes`: the shape of the data through a block, step by step (01)
* :mod:`~resnext_edu.drawing`: block drawings and image grids (01, 02)
* :mod:`~resnext_edu.models`: one generic ResNeXt, the CIFAR and ImageNet templates, ``create`` / ``list_models`` (02)
* :mod:`~resnext_edu.stages`: a model stage by stage with measured counts, the paper's two design rules (02)
* :mod:`~resnext_edu.timing`: measured time of a module on the learner's device (03, 04)
* :mod:`~resnext_edu.counting`: params and MACs, measured and by hand (Eq. 4), the width solvers (Table 2) (04)
* :mod:`~resnext_edu.paper`: the paper's tables and recipe, with their sources (02-06)
* :mod:`~resnext_edu.sweep`: complexity-matched cardinality sweeps, their runner and shipped results (05)
* :mod:`~resnext_edu.data`: CIFAR-10 as uint8 tensors on the device, cached; the synthetic set (01, 05, 06)
* :mod:`~resnext_edu.cache`: the CIFAR-10 tensor cache, checked field by field when read (01, 05, 06)
* :mod:`~resnext_edu.augment`: batches shuffled, cropped, flipped and normalised on the device (06)
* :mod:`~resnext_edu.config`: the training settings, ``TrainConfig``, and the fast recipe (06)
* :mod:`~resnext_edu.train`: the training loop a learner reads: ``fit``, ``train_step``, ``evaluate`` (06)
* :mod:`~resnext_edu.divergence`, :mod:`~resnext_edu.progress`: the loop's divergence stop; its progress bar (06)
* :mod:`~resnext_edu.device`: the one device and precision decision (bf16, fp16 + scaler, fp32; CUDA, MPS, CPU) (06)
* :mod:`~resnext_edu.checkpoints`: a run's history and checkpoint, resume, model identity (06)
* :mod:`~resnext_edu.distributed`: the same loop on many GPUs or machines under torchrun (06)
* :mod:`~resnext_edu.estimate`: how long a recipe takes, from MACs and a throughput (06)
* :mod:`~resnext_edu.live`: live learning curves in a notebook (06)
* :mod:`~resnext_edu.widgets`: the lessons' ipywidgets explorers (02, 04, 05)
* :mod:`~resnext_edu.exercises`: the self-checks of each lesson's exercises (01-06)
* :mod:`~resnext_edu.course`: what every lesson shares: the repository, quick mode, the device, the setup cell
* :mod:`~resnext_edu.provenance`: where a result came from (code version, software, hardware, date)
* :mod:`~resnext_edu.checks`, :mod:`~resnext_edu.files`: argument checks a learner can act on; atomic file writes
* :mod:`~resnext_edu.cli`: ``python -m resnext_edu {models,count,train,sweep,sweep-report}``
"""

__version__ = "0.1.0"
