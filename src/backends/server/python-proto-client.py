"""A minimal Python client of `turnwise serve` speaking the Tinker SDK's wire format.

Built from turnwise's own tinker_public.proto (compiled with protoc; the test passes the generated
module's directory on PYTHONPATH) and the standard library only: it sends forward_backward as
application/x-protobuf (zstd-compressed with Content-Encoding: zstd when the zstandard module is
present, as the SDK does when client/config says proto_compress_fwdbwd), asks retrieve_future for
protobuf results with Accept: application/x-protobuf, and trains one step: forward_backward,
optim_step, then a forward pass on the same data, a sample, a checkpoint and its weights_info.
Prints one JSON object with what it saw.

usage: python3 python-proto-client.py BASE_URL API_KEY BASE_MODEL
"""

import array
import json
import math
import sys
import urllib.request

import tinker_public_pb2 as pb

try:
    import zstandard
except ImportError:  # the SDK always has it; this client also runs without
    zstandard = None

BASE, KEY = sys.argv[1], sys.argv[2]
PROTO = "application/x-protobuf"


def post(path, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method="POST")
    request.add_header("X-API-Key", KEY)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers.get("content-type", ""), response.read()


def post_json(path, body):
    return json.loads(post(path, body)[1])


def result(request_id, message=None):
    """Polls a future as the SDK does; decodes a protobuf answer into `message`."""
    while True:
        headers = {"Accept": PROTO} if message is not None else {}
        content_type, body = post("/api/v1/retrieve_future", {"request_id": request_id}, headers)
        if PROTO in content_type:
            message.ParseFromString(body)
            return message
        answer = json.loads(body)
        if answer.get("type") == "try_again":
            continue
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer


def datum(tokens):
    d = pb.Datum()
    d.model_input.add().encoded_text.tokens = array.array("i", tokens[:-1]).tobytes()
    target = d.loss_fn_inputs["target_tokens"]
    target.dtype = pb.DTYPE_INT64
    target.shape.extend([len(tokens) - 1])
    target.dense = array.array("q", tokens[1:]).tobytes()
    weights = d.loss_fn_inputs["weights"]
    weights.dtype = pb.DTYPE_FLOAT32
    weights.shape.extend([len(tokens) - 1])
    weights.dense = array.array("f", [1.0] * (len(tokens) - 1)).tobytes()
    return d


def forward_backward(model_id, seq_id, examples, forward_only, compress):
    request = pb.ForwardBackwardRequest(model_id=model_id, seq_id=seq_id, loss_fn="cross_entropy")
    request.forward_only = forward_only
    for tokens in examples:
        request.data.append(datum(tokens))
    body = request.SerializeToString()
    headers = {"Content-Type": PROTO}
    if compress:
        body = zstandard.ZstdCompressor().compress(body)
        headers["Content-Encoding"] = "zstd"
    answer = json.loads(post("/api/v1/forward_backward", body, headers)[1])
    return result(answer["request_id"], pb.ForwardBackwardOutput())


def negative_log_likelihood(output):
    total = 0.0
    for record in output.loss_fn_outputs:
        total -= sum(array.array("f", record.fields["logprobs"].data))
    return total


config = post_json("/api/v1/client/config", {"sdk_version": "turnwise-python-proto-client"})
compress = zstandard is not None
session = post_json("/api/v1/create_session", {"tags": [], "sdk_version": "0.25.0"})["session_id"]
created = post_json(
    "/api/v1/create_model",
    {"session_id": session, "model_seq_id": 0, "base_model": sys.argv[3], "lora_config": {"rank": 4}},
)
model_id = result(created["request_id"])["model_id"]
examples = [[5, 6, 7, 8, 9], [9, 10, 11, 12]]
before = forward_backward(model_id, 1, examples, False, compress)
adam = {"learning_rate": 0.05, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.0, "grad_clip_norm": 0.0}
step = post_json("/api/v1/optim_step", {"model_id": model_id, "seq_id": 2, "adam_params": adam})
result(step["request_id"])
after = forward_backward(model_id, 3, examples, True, compress)
sampler = post_json("/api/v1/save_weights_for_sampler", {"model_id": model_id, "seq_id": 4})
sampling_session = result(sampler["request_id"])["sampling_session_id"]
asked = post_json(
    "/api/v1/asample",
    {
        "sampling_session_id": sampling_session,
        "prompt": {"chunks": [{"type": "encoded_text", "tokens": [5, 6]}]},
        "num_samples": 2,
        "sampling_params": {"max_tokens": 4, "temperature": 1.0, "seed": 1},
    },
)
sample = result(asked["request_id"], pb.SampleResponse())
saved = post_json("/api/v1/save_weights", {"model_id": model_id, "seq_id": 5, "path": "python-step-1"})
path = result(saved["request_id"])["path"]
info = post_json("/api/v1/weights_info", {"tinker_path": path})
print(
    json.dumps(
        {
            "compressed": compress,
            "loss_sum": before.metrics["loss:sum"],
            "nll_before": negative_log_likelihood(before),
            "nll_after": negative_log_likelihood(after),
            "num_datums": sum(record.num_datums for record in before.loss_fn_outputs),
            "samples": [list(array.array("i", sequence.tokens)) for sequence in sample.sequences],
            "weights_info": info,
            "finite": all(math.isfinite(x) for x in [before.metrics["loss:sum"]]),
        }
    )
)
