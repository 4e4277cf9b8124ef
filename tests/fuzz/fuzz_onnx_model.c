/* Fuzz target: the ONNX loader (protobuf-c unpacking, initializers, Constant folding, graph
 * ordering, operator attribute parsing) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "backends/onnx/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    onnx_graph_t graph;
    inferd_err_t err;
    if (onnx_graph_parse(data, size, "fuzz input", &graph, &err) == 0)
        onnx_graph_free(&graph);
    return 0;
}
