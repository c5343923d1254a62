"""The PyTorch twin of a SyncTower model, built from SyncTower's own resolved configuration.

SyncTower writes the configuration a run really used to <run dir>/config.yaml (every layer setting
filled in: stride, padding, bias, init) and names the optimizer with every setting, defaults
included, in train.log ("optimizer ADAM{lr=0.002, beta1=0.9 (default), ...}"), next to the model's
parameter count and input shape ("model: 92,680 parameters (...), input (C,H,W)=(1,28,72), ...").
Reading those two files, not the YAML the user wrote, means SyncTower's defaults are never guessed
here: whatever SyncTower resolved is what PyTorch gets.

Layout: SyncTower computes in NHWC, PyTorch in NCHW. The layers, parameter counts and arithmetic are
the same; only the order of the flattened features differs, which changes no cost.

Residual networks: a `type: residual` block becomes a module computing main(x) + shortcut(x) (then a
ReLU), and a `model.preset` (resnet18/34/50, resnet20/56) becomes torchvision's own ResNet module
tree (torchvision.models.resnet's BasicBlock and Bottleneck) at the preset's width, stem and class
count, as SyncTower's presets are defined (README "Residual networks").
"""
import re

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class ConfigMismatch(Exception):
    """The SyncTower configuration uses something this twin cannot reproduce faithfully."""


def read_run(run_dir):
    """The resolved config, the optimizer settings, the input shape and the parameter count that a
    SyncTower run directory records. Raises ConfigMismatch naming the file when a piece is missing."""
    with open(f"{run_dir}/config.yaml", encoding="utf-8") as f:
        config = yaml.safe_load(f)
    log_path = f"{run_dir}/train.log"
    with open(log_path, encoding="utf-8") as f:
        log = f.read()
    model_line = re.search(
        r"^model: ([\d,]+) parameters \(([\d,]+) trainable\), input (\S+), output (\[[^\]]*\])",
        log, re.M)
    if not model_line:
        raise ConfigMismatch(f"{log_path}: no 'model: N parameters ... input ...' line")
    optimizer = re.search(r"optimizer ([A-Z]+)\{([^}]*)\}", log)
    if not optimizer:
        raise ConfigMismatch(f"{log_path}: no 'optimizer TYPE{{...}}' line")
    return dict(
        config=config,
        parameters=int(model_line.group(1).replace(",", "")),
        trainable=int(model_line.group(2).replace(",", "")),
        input_shape=parse_shape(model_line.group(3)),
        output_shape=[int(v) for v in re.findall(r"\d+", model_line.group(4))],
        optimizer=parse_optimizer(optimizer.group(1), optimizer.group(2)))


def parse_shape(text):
    """'(C,H,W)=(1,28,72)' -> [1, 28, 72] (PyTorch's per-sample NCHW shape); '[784]' -> [784]."""
    image = re.fullmatch(r"\(C,H,W\)=\((\d+),(\d+),(\d+)\),?", text)
    if image:
        return [int(v) for v in image.groups()]
    flat = re.fullmatch(r"\[(\d+)\],?", text)
    if flat:
        return [int(flat.group(1))]
    raise ConfigMismatch(f"input shape '{text}' in train.log is neither (C,H,W)=(c,h,w) nor [n]")


def parse_optimizer(kind, settings):
    """'ADAM', 'lr=0.002, beta1=0.9 (default), ...' -> {'type': 'adam', 'lr': 0.002, ...}.
    SGD and RMSProp write momentum as 'momentum=STANDARD 0.9'."""
    spec = {"type": kind.lower()}
    for item in settings.split(","):
        key, _, value = item.strip().partition("=")
        value = value.replace("(default)", "").split()
        if key == "momentum":
            spec["momentum_kind"] = value[0]
            value = value[1:]
        spec[key] = float(value[0])
    return spec


class Twin:
    """The PyTorch model, loss and optimizer for one SyncTower run."""

    def __init__(self, run):
        self.run = run
        config = run["config"]
        self.dtype = DTYPES.get(config["model"].get("dtype", "float32"))
        if self.dtype is None:
            raise ConfigMismatch(f"model.dtype {config['model'].get('dtype')} has no PyTorch twin here")
        bn = config.get("bn", {})
        if bn.get("ghostBatch", 0):
            raise ConfigMismatch(f"bn.ghostBatch {bn['ghostBatch']}: ghost BN has no PyTorch twin here")
        self.input_shape = run["input_shape"]
        self.output_shape = run["output_shape"]
        if config["model"].get("preset"):
            self.model = preset(config["model"], config.get("bn", {}), self.input_shape)
        else:
            self.model, _ = sequential(config["model"]["layers"], config.get("bn", {}),
                                       self.input_shape)
        self.model.to(self.dtype)

    def parameter_count(self):
        """Trainable parameters, counted as SyncTower counts them: weights, biases, BN gamma and
        beta; not the BN moving statistics (PyTorch keeps those as buffers too)."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def optimizer(self, parameters):
        return make_optimizer(self.run["optimizer"], parameters)

    def loss(self, logits, labels):
        """Softmax cross-entropy over the last output axis, the mean over samples and positions
        (SyncTower's SoftmaxCrossEntropy: a [4, 62] output is 4 labels of 62 classes)."""
        classes = self.output_shape[-1]
        return F.cross_entropy(logits.reshape(-1, classes), labels.reshape(-1))

    def synthetic_batch(self, batch, seed):
        """Inputs in [0, 1) and uniform labels, one per output position (the values do not change
        the cost of a step; the shapes do)."""
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(batch, *self.input_shape, generator=g, dtype=torch.float64).to(self.dtype)
        positions = 1
        for d in self.output_shape[:-1]:
            positions *= d
        y = torch.randint(0, self.output_shape[-1], (batch, positions), generator=g)
        return x, y


def sequential(layers_cfg, bn, input_shape, where_prefix="model.layers"):
    """Threads the per-sample shape through the layers as SyncTower's ModelFactory does; returns the
    nn.Sequential and the output shape."""
    shape = list(input_shape)
    layers = []
    for index, layer in enumerate(layers_cfg):
        kind = layer["type"]
        where = f"{where_prefix}[{index}] ({kind})"
        if layer.get("trainable", True) is False:
            raise ConfigMismatch(f"{where}: trainable: false is not reproduced by the PyTorch twin")
        if kind == "conv2d":
            cin, h, w = shape
            k, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", "valid")
            if pad == "same":
                if s != 1 or k % 2 == 0:
                    raise ConfigMismatch(
                        f"{where}: padding same with stride {s}, kernel {k}: PyTorch 1.13 pads"
                        " symmetrically only for stride 1 and odd kernels")
                pad = k // 2
            elif pad == "valid":
                pad = 0
            layers.append(nn.Conv2d(cin, layer["filters"], k, s, padding=int(pad),
                                    bias=layer.get("bias", True)))
            h, w = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
            shape = [layer["filters"], h, w]
        elif kind == "dense":
            features = 1
            for d in shape:
                features *= d
            if len(shape) != 1:
                raise ConfigMismatch(f"{where}: dense on {shape}; SyncTower needs a flatten first")
            layers.append(nn.Linear(features, layer["units"], bias=layer.get("bias", True)))
            shape = [layer["units"]]
        elif kind == "batchnorm":
            layers.append(batchnorm(layer, bn, shape, where))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind in ("maxpool2d", "avgpool2d"):
            size = layer["size"]
            stride = layer.get("stride", size)
            pad = layer.get("padding", 0)
            layers.append(nn.MaxPool2d(size, stride, pad) if kind == "maxpool2d"
                          else nn.AvgPool2d(size, stride, pad, count_include_pad=True))
            c, h, w = shape
            shape = [c, (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1]
        elif kind == "globalavgpool":
            layers.append(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
            shape = [shape[0]]
        elif kind == "residual":
            layers.append(Residual(layer, bn, shape, where))
            shape = layers[-1].output_shape
        elif kind == "dropout":
            layers.append(nn.Dropout(layer["rate"]))
        elif kind == "flatten":
            layers.append(nn.Flatten())
            features = 1
            for d in shape:
                features *= d
            shape = [features]
        elif kind == "reshape":
            layers.append(nn.Unflatten(1, tuple(layer["shape"])))
            shape = list(layer["shape"])
        else:
            raise ConfigMismatch(f"{where}: layer type '{kind}' has no PyTorch twin here")
    return nn.Sequential(*layers), shape


def batchnorm(layer, bn, shape, where):
    """nn.BatchNorm2d/1d with SyncTower's epsilon and momentum = 1 - decay."""
    decay, eps = layer.get("decay", bn.get("decay")), layer.get("epsilon", bn.get("epsilon"))
    if decay is None or eps is None:
        raise ConfigMismatch(f"{where}: no BN decay/epsilon in the layer or the bn: section")
    bn_class = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
    return bn_class(shape[0], eps=eps, momentum=1 - decay)


class Residual(nn.Module):
    """A `type: residual` block: main(x) + shortcut(x) (an empty shortcut is the identity), then a
    ReLU unless reluAfterAdd: false."""

    def __init__(self, layer, bn, shape, where):
        super().__init__()
        unknown = set(layer) - {"type", "name", "layers", "shortcut", "reluAfterAdd"}
        if unknown:
            raise ConfigMismatch(f"{where}: residual settings {sorted(unknown)} have no PyTorch twin"
                                 " here")
        self.main, out = sequential(layer["layers"], bn, shape, f"{where}.layers")
        self.shortcut, short = sequential(layer.get("shortcut") or [], bn, shape,
                                          f"{where}.shortcut")
        if out != short:
            raise ConfigMismatch(f"{where}: main branch gives {out}, shortcut {short}")
        self.relu = layer.get("reluAfterAdd", True)
        self.output_shape = out

    def forward(self, x):
        y = self.main(x) + self.shortcut(x)
        return F.relu(y) if self.relu else y


# name -> (block, blocks per stage, default base width, CIFAR stem); torchvision's resnet18/34/50
# and He et al. 2016's CIFAR nets (3x3 stem, no max pool, three stages, projection shortcuts).
PRESETS = {
    "resnet18": ("basic", [2, 2, 2, 2], 64, False),
    "resnet34": ("basic", [3, 4, 6, 3], 64, False),
    "resnet50": ("bottleneck", [3, 4, 6, 3], 64, False),
    "resnet20": ("basic", [3, 3, 3], 16, True),
    "resnet56": ("basic", [9, 9, 9], 16, True),
}


def preset(model_cfg, bn, input_shape):
    """torchvision's ResNet module tree for `model: {preset: ..., width: ..., classes: ...}`, built
    from torchvision's BasicBlock and Bottleneck (torchvision's ResNet class fixes width 64)."""
    try:
        from torchvision.models.resnet import BasicBlock, Bottleneck, conv1x1
    except ImportError as e:
        raise ConfigMismatch(f"model.preset {model_cfg.get('preset')} needs torchvision ({e}):"
                             " sudo apt-get install -y python3-torchvision") from e

    name = model_cfg["preset"]
    if name not in PRESETS:
        raise ConfigMismatch(f"model.preset {name} has no PyTorch twin here ({', '.join(PRESETS)})")
    kind, blocks, default_width, cifar = PRESETS[name]
    block = BasicBlock if kind == "basic" else Bottleneck
    width = model_cfg.get("width", default_width)
    classes = model_cfg["classes"]
    decay, eps = bn.get("decay"), bn.get("epsilon")
    if decay is None or eps is None:
        raise ConfigMismatch("model.preset: no BN decay/epsilon in the bn: section")
    if input_shape[0] != 3 and not cifar:
        raise ConfigMismatch(f"model.preset {name}: input {input_shape}, expected 3 channels")

    def norm(c):
        return nn.BatchNorm2d(c, eps=eps, momentum=1 - decay)

    stem_in = input_shape[0]
    if cifar:
        stem = [nn.Conv2d(stem_in, width, 3, 1, 1, bias=False), norm(width), nn.ReLU()]
    else:
        stem = [nn.Conv2d(stem_in, width, 7, 2, 3, bias=False), norm(width), nn.ReLU(),
                nn.MaxPool2d(3, 2, 1)]
    stages = []
    inplanes = width
    for i, n in enumerate(blocks):
        planes = width * 2 ** i
        stride = 1 if i == 0 else 2
        for b in range(n):
            downsample = None
            if b == 0 and (stride != 1 or inplanes != planes * block.expansion):
                downsample = nn.Sequential(conv1x1(inplanes, planes * block.expansion, stride),
                                           norm(planes * block.expansion))
            stages.append(block(inplanes, planes, stride if b == 0 else 1, downsample,
                                norm_layer=norm))
            inplanes = planes * block.expansion
    return nn.Sequential(*stem, *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(inplanes, classes))


def make_optimizer(spec, parameters):
    """torch.optim with SyncTower's settings (OptimizerSpec's defaults follow torch.optim's, except
    Adadelta's, which follow Keras 2: lr 1.0, eps 1e-7; the log names every value either way)."""
    kind = spec["type"]
    wd = spec.get("weightDecay", 0.0)
    if kind == "sgd":
        mk = spec.get("momentum_kind", "NONE")
        return torch.optim.SGD(parameters, lr=spec["lr"],
                               momentum=0.0 if mk == "NONE" else spec.get("momentum", 0.0),
                               nesterov=mk == "NESTEROV", weight_decay=wd)
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(parameters, lr=spec["lr"], betas=(spec["beta1"], spec["beta2"]),
                   eps=spec["epsilon"], weight_decay=wd)
    if kind == "rmsprop":
        mk = spec.get("momentum_kind", "NONE")
        return torch.optim.RMSprop(parameters, lr=spec["lr"], alpha=spec["alpha"],
                                   eps=spec["epsilon"],
                                   momentum=0.0 if mk == "NONE" else spec.get("momentum", 0.0),
                                   weight_decay=wd)
    if kind == "adadelta":
        return torch.optim.Adadelta(parameters, lr=spec["lr"], rho=spec["rho"],
                                    eps=spec["epsilon"], weight_decay=wd)
    raise ConfigMismatch(f"optimizer {kind} has no PyTorch twin here")
