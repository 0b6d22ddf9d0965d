def test_a_weight_snapshot_crosses_processes_as_numpy_buffers_and_comes_back_bit_for_bit():
    """bf16 travels as int16 bits (numpy has no bf16): the pickle holds numpy arrays, which Ray
    writes to its object store as they are, and the reader gets every tensor back exactly."""
    import pickle

    import numpy as np
    import torch

    from workers.types import WeightSnapshot

    tensors = {
        "embed": torch.randn(4, 3).to(torch.bfloat16),
        "norm": torch.randn(5),
        "half": torch.randn(2, 2).to(torch.float16),
        "ids": torch.arange(6).view(2, 3),
    }
    snapshot = WeightSnapshot(7, tensors, {"r": 8})
    state = snapshot.__getstate__()
    assert all(isinstance(array, np.ndarray) for _, array in state["arrays"].values())
    back = pickle.loads(pickle.dumps(snapshot, protocol=5))
    assert back.version == 7 and back.adapter_config == {"r": 8}
    for name, tensor in tensors.items():
        assert back.tensors[name].dtype == tensor.dtype and torch.equal(back.tensors[name], tensor)
