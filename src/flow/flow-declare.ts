import { QueueStorage, FlowLimits } from '../storage';
import { describeFlowLimits, sameFlowLimits } from './flow-options';

interface WarnLogger {
    warn(...message: any[]): void;
}

/**
 * A consumer's start: stores the channel's flow limits it runs with (the latest declaration holds,
 * in every process), and warns when they differ from the ones stored before, naming both.
 */
export async function declareChannelFlow(storage: QueueStorage, logger: WarnLogger, channel: string, limits: FlowLimits): Promise<void> {
    const before = await storage.declareFlow(channel, limits);
    if (!sameFlowLimits(before, limits)) {
        logger.warn(`Queue channel '${channel}': this process declares ${describeFlowLimits(limits)}, the stored declaration had ${describeFlowLimits(before)}; the latest declaration (${describeFlowLimits(limits)}) now holds for every process`);
    }
}
