"""resnext_edu: the helper package of the resnext-edu course (Xie et al., "Aggregated Residual Transformations for
Deep Neural Networks", CVPR 2017).

The modules follow the lessons:

* :mod:`resnext_edu.blocks`: ResNet blocks and the ResNeXt block in the three forms of Fig. 3, ``convert`` (01-03)
* :mod:`resnext_edu.models`: one generic ResNeXt, CIFAR and ImageNet templates, ``create`` / ``list_models`` (02)
* :mod:`resnext_edu.counting`: params and MACs, measured and by hand (Eq. 4), the width solver (Table 2) (04)
* :mod:`resnext_edu.data`, :mod:`resnext_edu.train`: CIFAR-10 on the device, the training loop (01, 05, 06)
* :mod:`resnext_edu.sweep`: complexity-matched cardinality sweeps and their shipped results (05)
* :mod:`resnext_edu.widgets`: the lessons' ipywidgets explorers (02, 04, 05)
"""

__version__ = "0.1.0"
