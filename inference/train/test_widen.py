"""Checks of the width option and of from_onnx.widen.

    cd inference/train && /usr/bin/python3 -m unittest test_widen
"""
import unittest

import torch

from from_onnx import widen
from model import BASE, CropNet, widths


def randomised(net):
    """net with random batch-norm statistics and affine parameters, so a
    widening that mixed channels up could not hide behind the defaults."""
    g = torch.Generator().manual_seed(3)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return net


class WidenTest(unittest.TestCase):
    def test_default_network_unchanged(self):
        self.assertEqual(widths(1.0), BASE)
        # The parameter count of the shipped cropnet files.
        self.assertEqual(sum(p.numel() for p in CropNet(3).parameters()), 223223)

    def test_widths_round_to_eight(self):
        c = widths(1.25)
        self.assertEqual((c["stem"], c["d2"]), (BASE["stem"], BASE["d2"]))
        self.assertEqual((c["d3"], c["d4"], c["d5"], c["fuse"], c["head"]), (40, 64, 80, 64, 40))

    def test_widen_preserves_function(self):
        torch.manual_seed(1)
        net = randomised(CropNet(3))
        x = torch.rand(2, 3, 288, 512)
        for width in (1.25, 1.5):
            wide = widen(net, 1.0, width)
            self.assertGreater(sum(p.numel() for p in wide.parameters()), sum(p.numel() for p in net.parameters()))
            for train in (False, True):
                net.train(train)
                wide.train(train)
                with torch.no_grad():
                    a, b = net(x), wide(x)
                for u, v in zip(a, b):
                    self.assertLess((u - v).abs().max().item(), 1e-4, "width %g, train %s" % (width, train))

    def test_new_channels_learn(self):
        # Zero outgoing weights must not freeze the new channels: the weights
        # from them into the next layer get a gradient at the first step.
        torch.manual_seed(1)
        net = randomised(CropNet(3))
        wide = widen(net, 1.0, 1.5)
        wide.train()
        box, cls = wide(torch.rand(2, 3, 288, 512))
        (box.square().mean() + cls.sigmoid().mean()).backward()
        old, new = BASE["fuse"], widths(1.5)["fuse"]
        grad = wide.box[0].conv.weight.grad[:, old:new]
        self.assertTrue(torch.all(wide.box[0].conv.weight[:BASE["head"], old:new] == 0))
        self.assertGreater(grad.abs().sum().item(), 0)


if __name__ == "__main__":
    unittest.main()
