import { describe, expect, it } from '@jest/globals';
import { UnrepresentableTopicError } from '../../broker-bridge/brokers/types.js';
import { TopicError } from '../../common/topic.js';
import { PatternSet } from '../../broker-bridge/brokers/translate/filter.js';
import {
  checkSubjectPrefix,
  coveringFilter,
  natsFilter,
  natsSubject,
  topicOfSubject,
} from '../../broker-bridge/brokers/translate/nats.js';
import {
  amqpBindingKey,
  amqpRoutingKey,
  topicOfRoutingKey,
} from '../../broker-bridge/brokers/translate/amqp.js';
import {
  checkMqttPrefix,
  mqttFilter,
  mqttTopic,
  sharedFilter,
  topicOfMqtt,
} from '../../broker-bridge/brokers/translate/mqtt.js';
import {
  kafkaSubscription,
  kafkaTopicName,
  kafkaTopicRegex,
} from '../../broker-bridge/brokers/translate/kafka.js';

function unrepresentable(f: () => unknown, level: string): void {
  expect(f).toThrow(UnrepresentableTopicError);
  expect(f).toThrow(JSON.stringify(level));
}

describe('NATS subjects', () => {
  it('maps topics and patterns under the prefix and back', () => {
    expect(natsSubject('sidecast', 'acme/bank/opened')).toBe('sidecast.acme.bank.opened');
    expect(topicOfSubject('sidecast', 'sidecast.acme.bank.opened')).toBe('acme/bank/opened');
    expect(natsFilter('x.y', 'acme/*/opened/>')).toBe('x.y.acme.*.opened.>');
  });
  it('rejects levels containing the "." separator, naming the level', () => {
    unrepresentable(() => natsSubject('sidecast', 'acme/v1.2/opened'), 'v1.2');
    unrepresentable(() => natsFilter('sidecast', 'acme/v1.2/>'), 'v1.2');
  });
  it('passes grammar errors through as TopicError', () => {
    expect(() => natsSubject('sidecast', 'a//b')).toThrow(TopicError);
  });
  it('checks the prefix', () => {
    expect(() => checkSubjectPrefix('a..b')).toThrow('subjectPrefix');
    expect(() => checkSubjectPrefix('a.>')).toThrow('subjectPrefix');
    expect(checkSubjectPrefix('acme.events')).toBe('acme.events');
  });
  it.each([
    [['a/b/c'], 'p.a.b.c'],
    [['a/b/c', 'a/x/c'], 'p.a.*.c'],
    [['a/b', 'a/c/>'], 'p.a.>'],
    [['a/*', 'b/>'], 'p.*.>'],
    [['a/b/>', 'a/b/c/d'], 'p.a.b.>'],
    [['a', 'a/b'], 'p.>'],
  ])('folds %j into one covering filter %s', (patterns, filter) => {
    expect(coveringFilter('p', patterns)).toBe(filter);
  });
});

describe('AMQP routing keys', () => {
  it('maps levels to words, ">" to "#", and back', () => {
    expect(amqpRoutingKey('acme/bank/opened')).toBe('acme.bank.opened');
    expect(amqpBindingKey('acme/*/>')).toBe('acme.*.#');
    expect(topicOfRoutingKey('acme.bank.opened')).toBe('acme/bank/opened');
  });
  it('rejects "." in levels, a literal "#" word, and keys over 255 bytes', () => {
    unrepresentable(() => amqpRoutingKey('acme/v1.2'), 'v1.2');
    unrepresentable(() => amqpBindingKey('acme/#/x'), '#');
    unrepresentable(() => amqpRoutingKey('acme/#'), '#');
    expect(() => amqpRoutingKey(`a/${'x'.repeat(300)}`)).toThrow('255 bytes');
  });
});

describe('MQTT topics', () => {
  it('maps levels 1:1 under an optional prefix, wildcards to "+" and "#"', () => {
    expect(mqttTopic('', 'acme/bank/opened')).toBe('acme/bank/opened');
    expect(mqttTopic('sc', 'acme/bank')).toBe('sc/acme/bank');
    expect(mqttFilter('sc', 'acme/*/>')).toBe('sc/acme/+/#');
    expect(topicOfMqtt('sc', 'sc/acme/bank')).toBe('acme/bank');
    expect(topicOfMqtt('', 'acme/bank')).toBe('acme/bank');
  });
  it('rejects "+" and "#" inside levels and a reserved "$" first level', () => {
    unrepresentable(() => mqttTopic('', 'acme/a+b'), 'a+b');
    unrepresentable(() => mqttFilter('', 'acme/#'), '#');
    unrepresentable(() => mqttTopic('', '$SYS/x'), '$SYS');
    expect(mqttTopic('sc', '$x/y')).toBe('sc/$x/y'); // under a prefix, '$' is an ordinary character
    expect(() => checkMqttPrefix('a/+')).toThrow('topicPrefix');
  });
  it('builds shared subscriptions and refuses group names MQTT cannot carry', () => {
    expect(sharedFilter('notify', 'a/+')).toBe('$share/notify/a/+');
    expect(() => sharedFilter('a/b', 'x')).toThrow('shared-subscription group');
  });
});

describe('Kafka topics', () => {
  it('names the Kafka topic from the leading levels', () => {
    expect(kafkaTopicName('acme/bank/opened/v1', 2)).toBe('acme.bank');
    expect(kafkaTopicName('acme', 2)).toBe('acme');
    expect(kafkaTopicName('acme/bank/any.thing+here?', 2)).toBe('acme.bank'); // tail levels ride in a header
  });
  it('rejects characters Kafka cannot carry in the name levels', () => {
    unrepresentable(() => kafkaTopicName('acme/v1.2/x', 2), 'v1.2');
    unrepresentable(() => kafkaTopicName('acme/é/x', 2), 'é');
    unrepresentable(() => kafkaTopicRegex('acme/v1.2', 2), 'v1.2');
    expect(() => kafkaTopicName('a', 0)).toThrow('topicLevels');
  });
  it('turns patterns into topic-name regexes', () => {
    const r = kafkaTopicRegex('acme/*/x/y', 2);
    expect(r.test('acme.bank')).toBe(true);
    expect(r.test('acme.bank.x')).toBe(false);
    const g = kafkaTopicRegex('acme/>', 3);
    expect(['acme.a', 'acme.a.b'].every((n) => g.test(n))).toBe(true);
    expect(['acme', 'acme.a.b.c', 'acmeX.a'].some((n) => g.test(n))).toBe(false);
    expect(kafkaTopicRegex('a-b/c', 1).test('a-b')).toBe(true);
  });
  it('subscribes by exact name when the name levels hold no wildcard', () => {
    expect(kafkaSubscription('acme/bank/*', 2)).toBe('acme.bank');
    expect(kafkaSubscription('acme/>', 1)).toBe('acme');
    expect(kafkaSubscription('acme/*/x', 2)).toBeInstanceOf(RegExp);
  });
});

describe('PatternSet (over-match filter)', () => {
  it('drops the zero-level match that MQTT "#" and AMQP "#" let through', () => {
    const s = new PatternSet(['acme/>', 'bank/*']);
    expect(s.accepts('acme')).toBe(false);
    expect(s.accepts('acme/x/y')).toBe(true);
    expect(s.accepts('bank')).toBe(false);
    expect(s.accepts('bank/x')).toBe(true);
    expect(s.accepts('bank/x/y')).toBe(false);
  });
  it('refuses an empty pattern list and bad patterns', () => {
    expect(() => new PatternSet([])).toThrow('at least one topic pattern');
    expect(() => new PatternSet(['a/>/b'])).toThrow(TopicError);
  });
});
