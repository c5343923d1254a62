#!/usr/bin/python3
"""Writes the tensor keys, shapes and parameter counts of torchvision's ResNets for the preset tests.

ResNetPresetsBuildTest compares SyncTower's `model.preset` models against these files: every key of
the state_dict except num_batches_tracked (SyncTower's BN has a fixed momentum and no counter), its
shape in PyTorch's layout, and the number of parameters (model.parameters(), buffers excluded).

Run once with Debian's python3-torch/python3-torchvision (torch 1.13, torchvision 0.14) from this
folder; the outputs are committed and the tests do not need Python:

    /usr/bin/python3 make_preset_keys.py

The ImageNet presets come from torchvision.models.resnet18/34/50 as they are. A base width other
than 64 cannot be asked of torchvision's ResNet class (it fixes 64, 128, 256, 512), so `assemble`
builds the same module tree from torchvision's own BasicBlock and Bottleneck with every width
scaled; at width 64 it is checked to give exactly torchvision's keys and shapes. The CIFAR nets of
He et al. 2016 (sec. 4.2) are not in torchvision: `assemble` with the CIFAR stem (3x3 conv, stride
1, no max pooling), three stages of 16, 32, 64 filters and projection shortcuts (option B).
"""

import os

import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, conv1x1


class AssembledResNet(nn.Module):
    """torchvision's ResNet module tree (same attribute names) with a scalable width and stem."""

    def __init__(self, block, blocks, width, classes, cifar):
        super().__init__()
        if cifar:
            self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        if not cifar:
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.inplanes = width
        for stage, n in enumerate(blocks):
            setattr(
                self,
                "layer%d" % (stage + 1),
                self._make_layer(block, width * 2**stage, n, 1 if stage == 0 else 2),
            )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, classes)

    def _make_layer(self, block, planes, n, stride):
        # torchvision's rule: a projection where the stride or the channel count changes
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, n):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)


# name -> (block, blocks per stage, default width, CIFAR stem)
PRESETS = {
    "resnet18": (BasicBlock, [2, 2, 2, 2], 64, False),
    "resnet34": (BasicBlock, [3, 4, 6, 3], 64, False),
    "resnet50": (Bottleneck, [3, 4, 6, 3], 64, False),
    "resnet20": (BasicBlock, [3, 3, 3], 16, True),
    "resnet56": (BasicBlock, [9, 9, 9], 16, True),
}

# (preset, width, classes): every preset at its default width, the ImageNet ones with 1000 classes
# (torchvision's published parameter counts), and reduced widths.
CASES = [
    ("resnet18", 64, 1000),
    ("resnet34", 64, 1000),
    ("resnet50", 64, 1000),
    ("resnet20", 16, 10),
    ("resnet56", 16, 10),
    ("resnet18", 8, 10),
    ("resnet50", 8, 10),
    ("resnet20", 8, 10),
    ("resnet56", 4, 100),
]


def entries(model):
    return [
        (k, tuple(v.shape))
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    ]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("resnet18", "resnet34", "resnet50"):
        block, blocks, width, cifar = PRESETS[name]
        reference = getattr(torchvision.models, name)(num_classes=1000)
        assembled = AssembledResNet(block, blocks, width, 1000, cifar)
        assert entries(reference) == entries(assembled), name
    for name, width, classes in CASES:
        block, blocks, _, cifar = PRESETS[name]
        model = AssembledResNet(block, blocks, width, classes, cifar)
        if not cifar and width == 64:
            model = getattr(torchvision.models, name)(num_classes=classes)
        parameters = sum(p.numel() for p in model.parameters())
        path = os.path.join(here, "%s-w%d-c%d.txt" % (name, width, classes))
        with open(path, "w") as f:
            f.write(
                "# torchvision %s state_dict without num_batches_tracked: key, PyTorch shape\n"
                % torchvision.__version__
            )
            f.write("parameters %d\n" % parameters)
            for key, shape in entries(model):
                f.write("%s %s\n" % (key, " ".join(str(d) for d in shape)))
        print(path, parameters)


if __name__ == "__main__":
    main()
