// Termination signals handled synchronously on one thread.
#pragma once

namespace sprout {

// Blocks SIGTERM and SIGINT in the calling thread; call first thing in main so that every thread
// created afterwards inherits the mask and only WaitForTerminationSignal sees the signals.
void BlockTerminationSignals();

// Waits for SIGTERM or SIGINT and returns its number.
int WaitForTerminationSignal();

}  // namespace sprout
