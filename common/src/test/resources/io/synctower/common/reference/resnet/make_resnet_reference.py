#!/usr/bin/python3
"""Writes the PyTorch/torchvision reference files of ResNetReferenceTest (issue #15): for each model
below, a forward in training mode, the loss, every parameter gradient, the BN running statistics
after the step and the parameters after two SGD-with-momentum steps, and forwards in inference mode,
all in float64, on deterministic weights.

Run once, from anywhere, with Debian's python3-torch (1.13) and python3-torchvision (0.14):

    /usr/bin/python3 make_resnet_reference.py        # rewrites the .npz files next to this script

The tests never run Python; they read the files this script committed next to itself.

The models are torchvision's own ResNet (torchvision.models.resnet.ResNet, BasicBlock, Bottleneck,
its _make_layer, forward and module names), at a reduced base width so the files stay small:
  - resnet18-w4: resnet18's topology (ImageNet stem: 7x7/2 conv, 3x3/2 max pool; basic blocks
    [2, 2, 2, 2]) with base width 4 instead of 64 (stages 4, 8, 16, 32);
  - resnet50-w2: resnet50's topology (ImageNet stem; bottleneck blocks [3, 4, 6, 3], expansion 4)
    with base width 2 (stages 2, 4, 8, 16; block outputs 8, 16, 32, 64): the widest model's files
    would be 3.5 MB at width 4, 0.9 MB here;
  - resnet20-w4: He et al.'s CIFAR ResNet-20 (3x3/1 stem conv, no max pool; basic blocks [3, 3, 3])
    with base width 4 (stages 4, 8, 16), projection shortcuts (1x1 conv + BN) where the shape
    changes, as torchvision's _make_layer builds them.
Before writing anything the script checks that at width 64 (1000 classes) the reduced class is
torchvision.models.resnet18 and resnet50: the same state_dict keys and shapes, the same logits.
Input: a batch of 6 RGB images of 32x32 (NCHW), 10 classes. Weights: torchvision's own
initialization for convolutions and fc, then every BN weight, bias, running mean and running
variance set to non-trivial random values (not 1/0), so that BN's affine map and its moving
statistics are really exercised. The last BN of every residual branch (BasicBlock.bn2,
Bottleneck.bn3) gets its gamma scaled by 0.2, in the spirit of zero-init residual: with gamma near
1, the 16 bottleneck blocks let the residual stream grow until the problem is ill-conditioned (two
PyTorch runs whose weights differ by 1e-15 relative then disagree by 2e-9 after step 2, more than
the tests' 1e-10 bound); with it they disagree by about 2e-13.

Files per model M (np.savez, float64, torchvision state_dict names and PyTorch layouts):
  M-weights.npz  the state_dict the steps start from (what SyncTower imports)
  M-step1.npz    the state_dict after step 1: parameters after SGD, running statistics after the
                 training forward (momentum 0.1, unbiased variance), num_batches_tracked 1
  M-step2.npz    the same after step 2 (the first step whose update uses the momentum buffer)
  M-grads1.npz   dL/dparameter of step 1, keyed by parameter name (parameters only)
  M-outputs.npz  per step k = 1, 2 the training-mode logits_k [6, 10] and loss_k (CrossEntropyLoss,
                 mean over the batch), eval_logits_0 (inference mode with M-weights) and
                 eval_logits_2 (inference mode after step 2)
and, shared by all models, inputs.npz: x [6, 3, 32, 32] (NCHW), labels [6] (int64) and
sgd = [lr, momentum, weight_decay]. Both steps train on that one batch. SGD: torch.optim.SGD(lr=0.05, momentum=0.9, dampening=0,
weight_decay=1e-3, nesterov=False) over all parameters.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, CLASSES, SIZE = 6, 10, 32
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 1e-3


class ReducedResNet(ResNet):
    """torchvision's ResNet with a base width parameter and a choice of stem. Only the constructor
    differs: the stage widths are width * 2**i instead of 64 * 2**i. Blocks, _make_layer, forward and
    module names are torchvision's. A CIFAR model (3 stages) has no layer4: an nn.Identity, which
    has no state_dict entries."""

    def __init__(self, block, layers, width, classes, stem):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = width
        self.dilation = 1
        self.groups = 1
        self.base_width = 64  # torchvision's width_per_group: keeps a bottleneck's width = planes
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        elif stem == "cifar":
            self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            raise ValueError(stem)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        for i, blocks in enumerate(layers):
            setattr(self, f"layer{i + 1}",
                    self._make_layer(block, width * 2 ** i, blocks, stride=1 if i == 0 else 2))
        if len(layers) == 3:
            self.layer4 = nn.Identity()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 2 ** (len(layers) - 1) * block.expansion, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


MODELS = {
    "resnet18-w4": lambda: ReducedResNet(BasicBlock, [2, 2, 2, 2], 4, CLASSES, "imagenet"),
    "resnet50-w2": lambda: ReducedResNet(Bottleneck, [3, 4, 6, 3], 2, CLASSES, "imagenet"),
    "resnet20-w4": lambda: ReducedResNet(BasicBlock, [3, 3, 3], 4, CLASSES, "cifar"),
}


def check_against_torchvision():
    """At width 64 with 1000 classes, ReducedResNet must be torchvision's resnet18 and resnet50:
    the same state_dict keys and shapes, and the same logits on the same weights."""
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    for reduced, original in (
            (ReducedResNet(BasicBlock, [2, 2, 2, 2], 64, 1000, "imagenet"),
             torchvision.models.resnet18()),
            (ReducedResNet(Bottleneck, [3, 4, 6, 3], 64, 1000, "imagenet"),
             torchvision.models.resnet50())):
        ours = {k: tuple(v.shape) for k, v in reduced.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in original.state_dict().items()}
        assert list(ours.items()) == list(theirs.items()), "not torchvision's module tree"
        reduced.load_state_dict(original.state_dict())
        reduced.eval()
        original.eval()
        with torch.no_grad():
            assert torch.equal(reduced(x), original(x)), "not torchvision's forward"


def randomize_bn(model, g):
    """Non-trivial BN parameters and statistics: gamma in [0.5, 1.5), beta ~ N(0, 0.1^2), running
    mean ~ N(0, 0.1^2), running variance in [0.5, 1.5)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g, dtype=torch.float64))
                m.bias.copy_(0.1 * torch.randn(c, generator=g, dtype=torch.float64))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g, dtype=torch.float64))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g, dtype=torch.float64))


def shrink_residual_branches(model):
    """Scales the gamma of the last BN of every residual branch by 0.2 (see the module doc)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, Bottleneck):
                m.bn3.weight.mul_(0.2)
            elif isinstance(m, BasicBlock):
                m.bn2.weight.mul_(0.2)


def numpy_state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def save(name, suffix, arrays):
    np.savez(os.path.join(HERE, f"{name}-{suffix}.npz"), **arrays)


def make(name, seed, x, labels):
    torch.manual_seed(seed)
    model = MODELS[name]().double()
    randomize_bn(model, torch.Generator().manual_seed(seed + 1))
    shrink_residual_branches(model)
    save(name, "weights", numpy_state(model))

    io = {}
    model.eval()
    with torch.no_grad():
        io["eval_logits_0"] = model(x).numpy()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss()
    for step in (1, 2):
        model.train()
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, labels)
        loss.backward()
        io[f"logits_{step}"] = logits.detach().numpy()
        io[f"loss_{step}"] = np.array(loss.item(), dtype=np.float64)
        if step == 1:
            save(name, "grads1",
                 {k: p.grad.detach().numpy().copy() for k, p in model.named_parameters()})
        optimizer.step()
        save(name, f"step{step}", numpy_state(model))
    model.eval()
    with torch.no_grad():
        io["eval_logits_2"] = model(x).numpy()
    save(name, "outputs", io)
    count = sum(p.numel() for p in model.parameters())
    print(f"{name}: {count:,} parameters, loss {io['loss_1']:.6f} -> {io['loss_2']:.6f}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    check_against_torchvision()
    g = torch.Generator().manual_seed(999)
    x = torch.randn(BATCH, 3, SIZE, SIZE, generator=g, dtype=torch.float64)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=g)
    np.savez(os.path.join(HERE, "inputs.npz"), x=x.numpy(), labels=labels.numpy(),
             sgd=np.array([LR, MOMENTUM, WEIGHT_DECAY], dtype=np.float64))
    for i, name in enumerate(MODELS):
        make(name, 1000 + 10 * i, x, labels)
