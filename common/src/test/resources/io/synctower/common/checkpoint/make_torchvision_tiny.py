"""Writes torchvision-tiny.npz: a torchvision ResNet-shaped state_dict, saved the way the README
says (np.savez of state_dict().numpy()), for TorchvisionNamesTest.

Run once with Debian's python3 (torch 1.13, torchvision 0.14); the tests never need Python:
    /usr/bin/python3 make_torchvision_tiny.py

The modules are torchvision's own (resnet.BasicBlock, nn.BatchNorm2d, nn.Linear), so the keys,
shapes, dtypes (float32 tensors, int64 0-d num_batches_tracked) and their order are exactly what
torchvision writes: conv1, bn1, layer1.0.{conv1,bn1,conv2,bn2}, layer2.0.{conv1,bn1,conv2,bn2,
downsample.0,downsample.1}, fc. Widths are tiny (4 channels) so that the test's sequential model,
whose layers carry these names, can hold the same tensors: layer2's first block strides without
widening, so its downsample is a 4->4 1x1 convolution. Weights and BN statistics are seeded noise,
not the trivial initial values; num_batches_tracked stays 0, as in torchvision's published weights.
"""
import os

import numpy as np
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(4, 4))
        downsample = nn.Sequential(
            nn.Conv2d(4, 4, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(4))
        self.layer2 = nn.Sequential(BasicBlock(4, 4, stride=2, downsample=downsample))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4, 3)


def main():
    torch.manual_seed(15)
    model = Tiny()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand_like(t) + 0.5)
            else:
                t.copy_(torch.randn_like(t))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision-tiny.npz")
    np.savez(out, **{k: v.numpy() for k, v in model.state_dict().items()})
    for k, v in model.state_dict().items():
        print(k, v.dtype, tuple(v.shape))


if __name__ == "__main__":
    main()
