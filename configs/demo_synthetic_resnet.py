# The demo with a second feature network: a ResNet-50 SimpleBaseline backbone
# (opec/backbones/resnet.py) in place of FastPose, chosen by config alone.
# Random weights drawn from the seed (pretrained=None); give a local torchvision ImageNet file, e.g.
# pretrained='weights/resnet/resnet50-0676ba61.pth', to start the trunk from ImageNet.
# Its taps have 256 channels each; the cache stores tap0 only (the deconvolutions recompute the rest).
_base_ = ['./demo_synthetic.py']
model = dict(
    feature_net=dict(_delete_=True, type='ResNetSimpleBaseline', depth='resnet50', pretrained=None, seed=0),
    refiner=dict(tap_channels=(256, 256, 256)),
)
feature_cache = dict(taps='first')
