/**
 * vitest globalSetup, run once in the main process before any worker starts:
 * - points VK_ICD_FILENAMES at Chromium's SwiftShader Vulkan driver when it
 *   is installed and the variable is unset, so the native onnxruntime-node
 *   in each worker (which inherits this environment) finds a WebGPU device;
 * - prints one line naming every device suite that will be skipped and why
 *   (or that none is), decided by the same predicates the tests call
 *   (test/setup/availability.ts).
 */
import { availabilityLine, useSoftwareVulkan } from './availability.js';

export default function setup(): void {
  useSoftwareVulkan();
  console.log(availabilityLine());
}
