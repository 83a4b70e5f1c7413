#pragma once
// How much memory one input tensor of a shape takes, checked before anything allocates it: a typo such as
// 1x3x100000x100000 must be refused with the figure, not sent to the allocator (or the OOM killer).
#include "core/model/input_spec.h"

namespace quantscope {

// Bytes one input of `spec` takes; long double so that absurd shapes cannot overflow.
long double inputBytes(const InputSpec& spec);
// Throws Error ("1x3x100000x100000 float32 needs 112 GiB for the input alone, ...") when one input of `spec`
// would take more than half of this machine's physical memory; the model's activations need more again.
void checkInputFitsInMemory(const InputSpec& spec);

}  // namespace quantscope
