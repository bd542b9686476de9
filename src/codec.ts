import { createHash } from 'crypto';
import { getBSONDeserializer, getBSONSerializer } from '@deepkit/bson';
import { ReflectionKind, Type, TypeObjectLiteral, TypePropertySignature, validate } from '@deepkit/type';
import { QueueDecodeError, QueueValidationError } from './errors';

/**
 * Turns a channel's `T` into bytes and back. The value is stored as the BSON
 * document `{ v: value }`, because BSON's top level must be a document and `T`
 * may be a string, a number or an array. Serializers are compiled once per
 * channel.
 */
export class MessageCodec<T> {
    protected readonly serializer: (data: { v: T }) => Uint8Array;
    protected readonly deserializer: (bson: Uint8Array) => { v: T };

    constructor(public readonly channel: string, public readonly type: Type) {
        const envelope = envelopeType(type);
        this.serializer = getBSONSerializer(undefined, envelope);
        this.deserializer = getBSONDeserializer(undefined, envelope);
    }

    /** Validates `data` against the channel type, then serializes it. Throws `QueueValidationError`. */
    encode(data: T): Uint8Array {
        const errors = validate(data, this.type);
        if (errors.length) {
            throw new QueueValidationError(this.channel, errors.map(v => ({ path: v.path, code: v.code, message: v.message })));
        }
        return this.serializer({ v: data });
    }

    /** Deserializes and validates a stored payload. Throws `QueueDecodeError`. */
    decode(payload: Uint8Array): T {
        let value: T;
        try {
            value = this.deserializer(payload).v;
        } catch (error) {
            throw new QueueDecodeError(`Cannot decode message of channel '${this.channel}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }
        const errors = validate(value, this.type);
        if (errors.length) {
            throw new QueueDecodeError(`Stored message of channel '${this.channel}' does not match its type (did the type change?): ${errors.map(v => `${v.path || '(root)'}: ${v.message}`).join('; ')}`);
        }
        return value;
    }

    /** The default deduplication key: a hash of the serialized bytes. */
    hash(payload: Uint8Array): string {
        return createHash('sha256').update(payload).digest('base64url');
    }
}

function envelopeType(type: Type): TypeObjectLiteral {
    const envelope: TypeObjectLiteral = { kind: ReflectionKind.objectLiteral, types: [] };
    const property: TypePropertySignature = { kind: ReflectionKind.propertySignature, name: 'v', type, parent: envelope };
    envelope.types.push(property);
    return envelope;
}
