/** Slack-compatible incoming webhooks ({text}; Mattermost, Rocket.Chat accept it too) and Discord ({content}). */
import { text } from '../message.ts';
import { post, type Sender } from './types.ts';

const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'infrapulse' };

export const sendSlack: Sender = async (channel, message, options) => {
  await post(channel.url!, JSON.stringify({ text: text(message) }), JSON_HEADERS, options);
};

/** Discord caps content at 2000 characters. */
export const sendDiscord: Sender = async (channel, message, options) => {
  await post(channel.url!, JSON.stringify({ content: text(message).slice(0, 2000) }), JSON_HEADERS, options);
};
