#!/usr/bin/env python3
"""Generate modq's fictional sample moderation queue.

Run from anywhere (Python 3.11, standard library only):

    python3 scripts/gen_sample_queue.py              # writes assets/sample-queue.jsonl
    python3 scripts/gen_sample_queue.py --out q.jsonl

Each output line is one report in the `POST /v1/reports` wire format (`NewReport` in
src/model.rs). Several lines may share a `subject.id`; the server merges them into one
queue item. The output is deterministic: a fixed seed, fixed dates (received between
2026-11-20 and 2026-11-23, "now" taken as 2026-11-23T12:00Z), sorted lines.

Everything is invented: people, handles, brands, groups, reference numbers and domains
(all under `.example`). Hateful or extremist content uses bracketed placeholders or
neutral descriptions; child-safety items carry only neutral descriptions and hash-match
flags. A handful of items hold hostile text (ANSI/OSC escapes, bidi override, zero-width
characters) for robustness demos; the writer emits such characters as JSON escapes so that
`cat` on the file stays harmless.
"""

import argparse
import hashlib
import json
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20261123
UTC = timezone.utc
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)    # earliest received_at
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)     # the demo's "now"
END = NOW - timedelta(minutes=5)                    # latest received_at
LAST_DEADLINE = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent

COUNTRIES = {
    "en": ["US", "GB", "IE", "IN", "CA", "AU", "NG"], "de": ["DE", "AT", "CH"],
    "fr": ["FR", "BE", "CH", "SN"], "es": ["ES", "MX", "AR", "CO"], "pt": ["BR", "PT"],
    "pl": ["PL"], "tr": ["TR", "DE"], "ru": ["UA", "LV", "EE", "KZ", "DE"], "uk": ["UA", "PL"],
    "ar": ["EG", "MA", "SA", "AE", "JO"], "ja": ["JP"], "zh": ["TW", "SG", "MY"], "ko": ["KR"],
    "hi": ["IN"],
}
CITIES = {
    "en": ["Chicago", "Manchester", "Dublin", "Toronto", "Leeds"], "de": ["Berlin", "Hamburg", "Wien", "Köln"],
    "fr": ["Lyon", "Marseille", "Bruxelles", "Lille"], "es": ["Madrid", "Sevilla", "Bogotá", "Valencia"],
    "pt": ["São Paulo", "Porto", "Recife", "Lisboa"], "pl": ["Kraków", "Gdańsk", "Wrocław"],
    "tr": ["İzmir", "Ankara", "Bursa"], "ru": ["Рига", "Харьков", "Алматы"], "uk": ["Львів", "Одеса", "Дніпро"],
    "ar": ["القاهرة", "الإسكندرية", "عمّان"], "ja": ["大阪", "名古屋", "福岡"], "zh": ["台北", "高雄"],
    "ko": ["부산", "인천"], "hi": ["पुणे", "जयपुर", "लखनऊ"],
}
FILL = {
    "domain": ["quickcash-hub.example", "easyincome24.example", "work-from-sofa.example", "boost-my-reach.example"],
    "shop": ["nordlicht-outlet.example", "brandstore-sale.example", "megaoutlet-eu.example", "luxe-for-less.example"],
    "celeb": ["Marcus Vell", "Aiko Tanabe", "Sofia Brandt", "Leo Castellano", "Nadia Rahimi"],
    "coin": ["BTC", "ETH", "SOL", "USDT"],
    "brand": ["Nordlicht Sports", "Aurora Mobile", "Velora", "Parcelo", "Kestrel Bank"],
    "bank": [("Kestrel Bank", "kestrelbank"), ("Banco Solaz", "bancosolaz"), ("Nordkreis Bank", "nordkreis"),
             ("Union Fidelis", "unionfidelis")],
    "courier": [("Parcelo Express", "parcelo"), ("SwiftPost", "swiftpost"), ("Colibri Logistics", "colibri")],
    "fullname": ["Jan Kowalczyk", "Sarah Lindqvist", "Tomás Ferreira", "Aylin Demir", "Marc Dubois", "Julia Hartmann"],
    "group": ["the Sable Dawn movement", "the Iron Covenant", "the Black Lantern network"],
    "work": ["'The Quiet Harbour' (2026)", "'Glass Orchards' by Mira Vale", "'Hafenwache' S03E07", "'Moonlit Garden' ep. 1-16"],
    "amount": ["300", "500", "800", "1500", "2500"],
}

# Subject texts: (language, template[, "urgent"]). Templates take {fields} from FILL/CITIES,
# {victim} (another handle) and {nN} (a random N-digit number).
TEXTS = {
    "spam": [
        ("en", "Make ${amount}/week from home 💸 no experience needed. DM me 'INFO' or visit {domain}"),
        ("en", "Follow for follow? 🙏 I follow back 100%!!! #f4f #followback #likeforlike"),
        ("en", "Cheap followers, likes and views — real accounts, instant delivery, no password needed. {domain}"),
        ("de", "Nebenjob von zu Hause 💶 {amount} € im Monat, keine Vorkenntnisse nötig. Schreib mir „JOB“ per DM!"),
        ("fr", "Gagnez {amount} € par semaine depuis chez vous ! Cliquez ici 👉 {domain}"),
        ("es", "¡Gana dinero desde casa! Solo necesitas tu móvil 📱 Info en {domain}"),
        ("pt", "Renda extra garantida 💰 trabalhe 2h por dia. Chama no direct!"),
        ("pl", "Praca zdalna, {amount} zł tygodniowo, bez doświadczenia. Szczegóły: {domain}"),
        ("tr", "Evden çalışarak haftada {amount} TL kazan! Detaylar profilimdeki linkte 🔗"),
        ("ru", "Заработок без вложений от {amount} ₽ в день. Пиши в личку «+» 💸"),
        ("ar", "اربح {amount} دولار أسبوعياً من المنزل! التفاصيل على {domain}"),
        ("ja", "【副業】スマホだけで月30万円！詳しくはプロフのリンクから👉"),
        ("zh", "在家兼职，日赚{amount}元，无需经验！私信我了解详情 💰"),
        ("ko", "부업으로 월 300만원! 자세한 내용은 프로필 링크 확인 👉"),
        ("hi", "घर बैठे रोज़ ₹{amount} कमाएँ! अभी जुड़ें 👉 {domain}"),
    ],
    "scam": [
        ("en", "🚨 {celeb} GIVEAWAY 🚨 Send 0.1–5 {coin} to the address below and receive DOUBLE back! "
               "Only the first 500 participants. Verified event: {domain}"),
        ("en", "Clearance sale!! {brand} jackets 85% off, last 48 hours only. Order at {shop} — pay by bank transfer for an extra 10% off."),
        ("en", "I invested $250 and now make $4,000 a week with Mr. Harlow's trading signals. He changed my life. "
               "Message him on WhatsApp, he is legit 🙏 Don't waste time with banks."),
        ("en", "Lost money to a crypto scam? Our certified recovery agents get your funds back within 72 hours. Small upfront fee only."),
        ("de", "Krypto-Aktion von {celeb}: Schicke {coin} an die Adresse im Profil und erhalte das Doppelte zurück. Nur heute!"),
        ("de", "Ich verschenke mein Handy (Nova X12), weil ich ein neues bekommen habe – ihr zahlt nur den Versand (4,99 €): {shop}"),
        ("fr", "Vente flash {brand} : tout à -80 % ! Livraison gratuite, paiement par virement uniquement → {shop}"),
        ("es", "¡Sorteo oficial de {brand}! Paga solo 1,95 € de envío y recibe un móvil nuevo. {shop}"),
        ("pt", "PIX premiado! Mande R$ 50 e receba R$ 500 em 10 minutos. Vagas limitadas ⏳"),
        ("pl", "Wyprzedaż likwidacyjna {brand} – kurtki zimowe za 99 zł. Płatność tylko przelewem: {shop}"),
        ("tr", "{celeb} kripto çekilişi! {coin} gönder, iki katını geri al. Sadece bugün!"),
        ("ru", "Инвестиции с гарантией: вложи 10 000 ₽ — получи 50 000 ₽ через неделю. Пиши менеджеру, мест мало."),
        ("uk", "Терміново продаю генератор за пів ціни, тільки повна передоплата на картку. Доставка завтра."),
        ("ar", "مبروك! لقد ربحت هاتفاً جديداً من {brand}. ادفع رسوم الشحن فقط عبر الرابط: {shop}"),
        ("ja", "{celeb}さん公認の投資グループです。LINEに参加するだけで毎月20万円の配当！"),
        ("zh", "官方客服：您的账户有一笔退款待领取，请添加客服微信并提供银行卡信息。"),
        ("ko", "{brand} 공식 이벤트! 배송비 3,000원만 내면 신상 패딩 무료 증정 🎁 {shop}"),
        ("hi", "मेगा लकी ड्रॉ में आपने ₹25 लाख जीते हैं! प्रोसेसिंग फ़ीस जमा करें और इनाम पाएँ।"),
    ],
    "phishing": [
        ("en", "Your {bank} account has been suspended due to unusual activity. Verify within 24h: https://{bank_slug}-secure-login.example/verify"),
        ("en", "📦 {courier}: your parcel is held at customs. Pay the 1.99 fee here: https://{courier_slug}-redelivery.example"),
        ("en", "Hey, is this you in this video?? 😳 https://vid-share-login.example/watch?v=xk{n2}"),
        ("de", "Sehr geehrter Kunde, Ihre {bank}-Karte wurde gesperrt. Bitte bestätigen Sie Ihre Daten unter https://{bank_slug}-sicherheit.example"),
        ("fr", "Votre colis {courier} n'a pas pu être livré. Reprogrammez la livraison : https://{courier_slug}-suivi.example"),
        ("es", "Agencia Tributaria: tiene un reembolso pendiente de 312,40 €. Confirme sus datos en https://reembolso-tributario.example"),
        ("pt", "Seu CPF está irregular. Regularize agora para evitar bloqueio: https://regulariza-cpf.example"),
        ("pl", "Twoja paczka czeka na dopłatę 1,99 zł. Opłać tutaj: https://{courier_slug}-doplata.example"),
        ("tr", "Hesabınız askıya alındı. Doğrulama için tıklayın: https://{bank_slug}-giris.example"),
        ("ru", "Ваш аккаунт будет удалён через 24 часа. Подтвердите вход: https://login-verify-secure.example"),
        ("ar", "تم تعليق حسابك المصرفي. يرجى تحديث بياناتك فوراً: https://{bank_slug}-update.example"),
        ("ja", "【{bank}】お客様の口座で不正な取引を検知しました。本人確認はこちら：https://{bank_slug}-auth.example"),
        ("ko", "[국제발신] 고객님의 택배가 주소 불일치로 보관 중입니다. 주소 확인: https://{courier_slug}-kr.example"),
        ("zh", "【{bank}】您的账户存在异常，请立即登录验证：https://{bank_slug}-verify.example"),
        ("hi", "आपका बैंक KYC अधूरा है, खाता आज बंद हो जाएगा। तुरंत अपडेट करें: https://kyc-update-now.example"),
    ],
    "hate": [
        ("en", "[ethnic group] are parasites. Every single one of them should be sent back where they came from."),
        ("en", "Nobody in {city} wants your kind here. [religious group] out — we will make sure of it."),
        ("en", "Reply under a news article calls members of [religious group] 'vermin' and says the neighbourhood needs 'cleaning'. "
               "Several replies agree and add the street name of the community centre."),
        ("de", "[Gruppe] sind keine Menschen, das sind Tiere. Raus aus unserem Land!"),
        ("de", "Man sollte diese [religiöse Gruppe] alle einsperren, dann hätten wir in {city} endlich Ruhe."),
        ("fr", "Les [groupe ethnique] sont une maladie pour ce pays. Il faut les chasser de {city}."),
        ("es", "Los [grupo] no son personas, son una plaga. Fuera de {city}."),
        ("pt", "Esses [grupo] deviam ser expulsos do país, todos eles. Lixo."),
        ("pl", "[grupa] to pasożyty, trzeba ich wyrzucić z kraju."),
        ("tr", "Bu [grup] ülkemizde istemiyoruz, hepsi defolsun gitsin."),
        ("ru", "[группа] — это не люди. Гнать их всех из страны."),
        ("ar", "[الجماعة] حشرات ويجب طردهم جميعاً من بلادنا."),
        ("hi", "ये [समुदाय] के लोग देश के दुश्मन हैं, इन्हें बाहर निकालो।"),
        ("ja", "[集団]は出て行け。全員害虫だ。"),
        ("ko", "[집단]은 전부 벌레다. 이 나라에서 쫓아내야 한다."),
    ],
    "harassment": [
        ("en", "@{victim} you're a pathetic joke. Everyone at your school knows it. Just disappear."),
        ("en", "I'm going to keep making new accounts until you answer me. You can't block me forever @{victim}"),
        ("en", "Hey @{victim}, nice photos from the lake last weekend. Shame if your boss saw the rest of them 😉"),
        ("en", "Thread 1/4: let me tell you all about @{victim}. Pretends to be a nice teacher, but I have screenshots of every "
               "message. I'll post one a day until she quits. Tag her employer, tag her family, you know what to do."),
        ("de", "@{victim} du bist so hässlich, kein Wunder, dass dich niemand mag. Lösch dich einfach."),
        ("fr", "@{victim} t'es vraiment une honte, tout le monde se moque de toi au lycée. Disparais."),
        ("es", "@{victim} eres patética, nadie te soporta. Vete de la red."),
        ("pt", "@{victim} ninguém te aguenta, some daqui. Vou continuar postando até você sair."),
        ("pl", "@{victim} jesteś żałosny, wszyscy się z ciebie śmieją."),
        ("tr", "@{victim} sen tam bir rezilsin, herkes sana gülüyor. Hesabını kapat artık."),
        ("ru", "@{victim} ты ничтожество, все над тобой смеются. Удаляйся отсюда."),
        ("uk", "@{victim} ти ганьба, усі з тебе сміються. Зникни вже."),
        ("ja", "@{victim} お前みたいなのがいるからクラスが最悪なんだよ。消えろ。"),
        ("ko", "@{victim} 너 같은 건 학교 오지 마. 다들 너 싫어해."),
        ("ar", "@{victim} أنت فاشلة ولا أحد يحبك، احذفي حسابك."),
    ],
    "terrorism": [
        ("en", "[Video description] 4-minute recruitment video branded with the logo of {group}; the narrator urges viewers "
               "to 'take up the struggle' and explains how to contact recruiters. Uploaded as an unlisted clip."),
        ("en", "Channel reposts official statements of {group}, including a claim of responsibility for the {city} station "
               "attack, with instructions to mirror everything before removal."),
        ("en", "Post announces an attack on the {city} Christmas market 'this Saturday' and asks followers who are 'ready' to make contact.", "urgent"),
        ("ar", "بيان منسوب إلى {group} يتبنى الهجوم ويدعو الأنصار إلى نشر الإصدار على نطاق واسع."),
        ("de", "Kanal verbreitet Propagandavideos von {group} mit Aufrufen zu Anschlägen in Europa."),
        ("fr", "Traduction en français d'un magazine de propagande de {group}, avec un appel à passer à l'action."),
        ("ru", "Канал публикует пропаганду {group} и призывы вступать в ряды группировки."),
        ("tr", "{group} adına yayınlanan propaganda videosu; izleyicileri örgüte katılmaya çağırıyor."),
    ],
    "violent_extremism": [
        ("en", "Meme praising the {city} shooter as a 'saint', with the number of victims rendered as a video-game high score."),
        ("en", "Patriots of the valley: training camp this weekend, bring your own rifle. The day is coming and we will be ready."),
        ("de", "Gruppe ruft zu „Bürgerwehr“-Streifen gegen Geflüchtete in {city} auf und teilt Fotos von Waffen."),
        ("es", "Convocatoria a 'limpiar' el barrio de {city} esta noche. Traed palos y cascos."),
        ("pt", "Vídeo exaltando o ataque à escola como 'ato heroico' e pedindo que outros sigam o exemplo."),
        ("pl", "Grafika gloryfikująca sprawcę zamachu jako „bohatera”, z hasłem wzywającym do naśladownictwa."),
        ("en", "Manifesto excerpt (screenshot) from a mass attacker, reposted with 'read this, he was right' and a countdown emoji ⏳", "urgent"),
    ],
    "impersonation": [
        ("en", "Official support account of {brand} 🔵 DM us your account number and we'll fix your issue right away!"),
        ("en", "Minister R. Okafor — official account. Follow for information about the new household energy grant."),
        ("de", "Offizieller Kundenservice von {brand}. Schreiben Sie uns Ihre Kundennummer und PIN per DM."),
        ("fr", "Compte officiel du maire de {city}. Participez à la cagnotte municipale 👇"),
        ("es", "Soy {celeb} y esta es mi nueva cuenta, la otra me la hackearon. ¡Sorteo para mis seguidores!"),
        ("pt", "Perfil oficial da {brand} Brasil. Atendimento pelo WhatsApp, envie seu CPF e senha."),
        ("ja", "{brand}公式サポートです。お困りの方はDMでログイン情報をお送りください。"),
        ("tr", "{celeb} resmi hesabı. Yeni hesabım bu, eskisi çalındı. Çekilişe katılın!"),
    ],
    "copyright": [
        ("en", "Full movie {work} 1080p — no ads, watch before it gets taken down 🍿"),
        ("en", "Complete album {work}, re-uploaded with pitch shift so the filter doesn't catch it."),
        ("de", "Ganze Folge {work} in HD, schnell gucken bevor gelöscht 📺"),
        ("fr", "Match en direct gratuit ⚽ lien du stream dans ma bio"),
        ("es", "Película completa {work} en español latino, link en comentarios"),
        ("pt", "Novela completa capítulo 112 em HD 📺"),
        ("ja", "最新話の漫画を全ページアップしました！保存推奨"),
        ("ko", "드라마 {work} 전편 무료 다시보기 링크"),
    ],
    "illegal_goods": [
        ("en", "Plugs in {city} 🍃❄️ fast delivery, discreet packaging. Telegram in bio."),
        ("en", "Selling unregistered pistols, no paperwork, can ship in parts. Serious buyers only."),
        ("en", "Category F4 fireworks and flash powder, no ID check, cash on delivery."),
        ("de", "Verkaufe Gras und Pillen, Lieferung in ganz {city} 🚗 Nur Krypto."),
        ("fr", "Vente de beuh et de résine, livraison sur {city} 7j/7. Snap en bio."),
        ("es", "Vendo pastillas sin receta y otras cositas 💊 envíos a toda España"),
        ("pt", "Vendo arma sem registro, entrego em mãos. Chama no privado."),
        ("pl", "Sprzedam tabletki odchudzające bez recepty i sterydy, wysyłka dyskretna."),
        ("tr", "Reçetesiz ilaç satışı, kapıda ödeme. DM."),
        ("ru", "Закладки по всему городу, оплата в крипте. Ссылка на бота в профиле."),
        ("zh", "出售各类证件及处方药，全国包邮，加微信详谈。"),
    ],
    "self_harm": [
        ("en", "I can't do this anymore. Tonight is the night, I've already written the letters. Sorry everyone.", "urgent"),
        ("en", "Day 14 of barely eating. Rate my progress 🦴 #thinspo", "urgent"),
        ("de", "Ich halte das nicht mehr aus. Morgen bin ich nicht mehr da. Danke für nichts.", "urgent"),
        ("fr", "Je n'en peux plus. Ce soir c'est fini, je vous dis adieu.", "urgent"),
        ("es", "Ya no puedo más. Esta noche me despido de todos.", "urgent"),
        ("pt", "Não aguento mais. Hoje é o último dia, desculpa a todos.", "urgent"),
        ("pl", "Nie daję już rady. Dziś wieczorem to zakończę.", "urgent"),
        ("ja", "もう無理。今夜で終わりにする。みんなありがとう。", "urgent"),
        ("ko", "더 이상 못 버티겠어. 오늘 밤이 마지막이야.", "urgent"),
        ("tr", "Artık dayanamıyorum. Bu gece her şey bitecek.", "urgent"),
        ("hi", "अब और नहीं सह सकता। आज रात सब खत्म कर दूँगा।", "urgent"),
    ],
    "child_safety": [
        ("en", "Account solicits contact with minors; see hotline report.", "urgent"),
        ("en", "Account repeatedly asks users who state they are 12-14 to continue on an external messenger.", "urgent"),
        ("en", "[media withheld: matched known-hash list]", "urgent"),
        ("de", "Konto sucht gezielt Kontakt zu Minderjährigen; siehe Hotline-Meldung.", "urgent"),
        ("fr", "Compte sollicitant des mineurs ; voir le signalement de la hotline.", "urgent"),
        ("es", "Cuenta que busca contacto con menores; ver informe de la línea de denuncia.", "urgent"),
        ("ja", "未成年者への接触を繰り返すアカウント（ホットライン通報参照）", "urgent"),
    ],
    "misinformation": [
        ("en", "BREAKING: {city} tap water has been contaminated with a 'sterilisation chemical' and the council is hiding it. "
               "My cousin works at the plant. Share before they delete this!"),
        ("en", "Reminder: under the new rules, voters whose surname starts with A–M vote on Monday this year, not Sunday. Spread the word!"),
        ("en", "Doctors don't want you to know: a spoon of baking soda a day cures diabetes. My aunt stopped her insulin and feels great."),
        ("de", "Achtung! Die Wahl in {city} wurde auf nächsten Dienstag verschoben. Heute nicht hingehen!"),
        ("fr", "Le vaccin contient une puce de traçage, un infirmier me l'a confirmé. Partagez !"),
        ("es", "Las antenas nuevas de {city} provocan cáncer, ya hay 40 muertos y los medios lo ocultan."),
        ("pt", "URGENTE: a urna eletrônica vai apagar votos de quem votar depois das 15h. Vote cedo e compartilhe!"),
        ("pl", "Rząd ukrywa, że woda w {city} jest skażona. Nie pijcie z kranu!"),
        ("tr", "Deprem uyarısı: yarın saat 14:00'te 8 büyüklüğünde deprem olacak, kaynak gizli rapor. Yayın!"),
        ("ru", "Срочно! В городе с завтрашнего дня вводят комендантский час, скупайте продукты."),
        ("uk", "Увага! Завтра в місті {city} відключать мобільний зв'язок на тиждень, перешліть усім."),
        ("ar", "عاجل: لقاح الإنفلونزا الجديد يسبب العقم، شاركوا قبل الحذف!"),
        ("hi", "फ़ॉरवर्ड करें: नमक के पानी से गरारे करने से वायरस 100% खत्म हो जाता है, डॉक्टरों ने भी माना।"),
        ("ja", "【拡散希望】明日大地震が来るという予知が出ています。政府は隠しています。"),
        ("zh", "紧急扩散！{city}水源被污染，政府隐瞒不报，千万别喝自来水！"),
    ],
    "privacy": [
        ("en", "Here's where that 'journalist' {fullname} lives: 14 Birchwood Lane, flat 3, {city}. Drives a grey hatchback. Do what you want with this."),
        ("en", "Leaked: full name, phone (+1 555 01{n2}) and employer of the mod who banned me. Go say hi 👋"),
        ("de", "Das ist die Adresse von {fullname}: Lindenstraße 14, 3. OG, {city}. Handy 0151 5550 {n4}. Besucht ihn mal."),
        ("fr", "Voici l'adresse de {fullname} : 12 rue des Tilleuls, {city}. Faites-lui comprendre."),
        ("es", "Os dejo el DNI y la dirección de la tía que me denunció 👇 (foto adjunta)"),
        ("pt", "Vazou o endereço e o telefone da juíza do caso. Vamos fazer uma visita."),
        ("pl", "Numer telefonu i adres tej nauczycielki z {city}, dzwońcie śmiało."),
        ("tr", "İşte o polisin ev adresi ve çocuklarının okulu. Gereğini yapın."),
    ],
    "nudity": [
        ("en", "New set on my page 🔥 link in bio (18+)"),
        ("en", "Posted in the public 'Cooking Tips' group with an unrelated explicit image."),
        ("de", "Neue Bilder 🔞 nur für kurze Zeit sichtbar"),
        ("es", "Contenido exclusivo 🔥 escríbeme al privado"),
        ("pt", "Conteúdo +18 liberado 😈 link na bio"),
        ("ja", "裏垢はこちら🔞"),
    ],
    "violence": [
        ("en", "Video of a street fight outside a club in {city}; one man is kicked repeatedly while unconscious. Caption: 'he deserved it 😂'"),
        ("en", "I know where you park. Friday you're finished, and nobody will find you.", "urgent"),
        ("en", "Graphic footage from the {city} motorway crash, victims visible, no warning screen."),
        ("es", "Vídeo de una pelea brutal en el metro, con sangre visible. 'Miren cómo lo dejaron'"),
        ("pt", "Vídeo mostrando espancamento de um homem amarrado. 'Justiça feita'"),
        ("ar", "فيديو لحادث مروري مروع تظهر فيه الجثث دون أي تحذير."),
        ("ru", "Видео избиения подростка во дворе, лицо жертвы видно."),
        ("tr", "Yarın okulda hepinizi göreceğim. Kimse kurtulamayacak.", "urgent"),
    ],
}
# category -> (number of subjects, kind weights)
PLAN = {
    "spam": (35, {"post": 8, "account": 1, "channel": 1}), "scam": (35, {"post": 7, "account": 2, "channel": 1}),
    "phishing": (25, {"post": 8, "account": 1}), "hate": (30, {"post": 9, "media": 1}),
    "harassment": (30, {"post": 8, "account": 1}), "terrorism": (12, {"channel": 4, "media": 4, "post": 2}),
    "violent_extremism": (12, {"post": 3, "channel": 2, "media": 1}), "impersonation": (18, {"account": 1}),
    "copyright": (20, {"media": 3, "post": 1}), "illegal_goods": (20, {"post": 3, "channel": 2, "account": 1}),
    "self_harm": (12, {"post": 1}), "child_safety": (10, {"account": 2, "media": 2, "post": 1}),
    "misinformation": (22, {"post": 6, "media": 1, "channel": 1}), "privacy": (14, {"post": 3, "media": 1}),
    "nudity": (12, {"media": 2, "post": 1}), "violence": (12, {"media": 2, "post": 1}),
}
MEDIA = {
    "terrorism": [("video", "[video: branded propaganda clip, 4:12]", "gifct-hashlist"), ("image", "[image: group logo over a city skyline]", None)],
    "violent_extremism": [("image", "[image: edited photo of an attacker with a halo]", None)],
    "hate": [("image", "[image: meme with a dehumanising caption about [group]]", None)],
    "copyright": [("video", "[video: full-length feature, 1:52:10]", "rights-fingerprint"), ("audio", "[audio: 11 tracks, pitch-shifted]", None)],
    "child_safety": [("image", "[image withheld: matched known-hash list]", "ncmec-hashlist"), ("video", "[video withheld: matched known-hash list]", "csam-hashlist")],
    "nudity": [("image", "[image: explicit adult nudity, no sensitive-content label]", None), ("video", "[video: adult sexual content, 0:45]", None)],
    "violence": [("video", "[video: graphic violence, visible injuries]", None)],
    "privacy": [("image", "[image: photo of an ID card with name and address readable]", None)],
    "misinformation": [("image", "[image: fabricated screenshot of a news site]", None)],
}
USER_COMMENTS = {
    "spam": ["spam", "this account posts the same thing everywhere", "bot?", "so annoying, every single comment section"],
    "scam": ["SCAM. I paid and never got anything", "fake giveaway, they took my crypto", "this shop doesn't exist, I lost 120 €"],
    "phishing": ["fake bank link!!", "phishing, the domain is not the real one", "my mum almost entered her card details"],
    "hate": ["hate speech", "this is disgusting racism", "Volksverhetzung, bitte löschen", "discours haineux"],
    "harassment": ["this person keeps targeting me", "bullying my daughter", "they made a new account after I blocked them",
                   "This is the third account I've had to report. Same person, same pattern: they comment on every photo I post "
                   "within minutes, DM my sister, and now they tag my employer. Please look at the whole history."],
    "terrorism": ["terrorist propaganda", "looks like a terror group recruitment video", "please remove, they are recruiting"],
    "violent_extremism": ["glorifying a mass shooting", "they are organising something violent"],
    "impersonation": ["this is NOT the real account", "fake support account asking for PINs", "pretending to be me"],
    "copyright": ["this is my video, reuploaded without permission", "pirated movie"],
    "illegal_goods": ["selling drugs openly", "selling guns??", "drug dealer"],
    "self_harm": ["please help this person", "my friend posted this, I'm scared", "worried about them, please check"],
    "child_safety": ["adult messaging kids in the comments"],
    "misinformation": ["fake news", "this is false and dangerous", "election misinformation"],
    "privacy": ["that's my address!!", "doxxing", "they posted my phone number"],
    "nudity": ["porn in a public group", "nsfw without warning"],
    "violence": ["graphic violence", "threat against me", "kids can see this"],
}
TF_ORGS = {
    "child_safety": ["INHOPE member hotline ref TF-{n4}", "Hotline (INHOPE member) case HL-{n5}"],
    "hate": ["Respect Online e.V. (trusted flagger) ref RO-{n4}", "Collectif Vigilance Numérique ref CVN-{n4}"],
    "terrorism": ["Counter-extremism NGO (trusted flagger) ref CX-{n4}"],
    "violent_extremism": ["Counter-extremism NGO (trusted flagger) ref CX-{n4}"],
    "copyright": ["Notice on behalf of {rights}: unauthorised copy of {work}. Good-faith statement and signature on file, ref DMCA-{n5}"],
    "scam": ["Consumer protection association ref VZ-{n4}"], "impersonation": ["Consumer protection association ref VZ-{n4}"],
    "phishing": ["Anti-phishing feed (trusted flagger) ref PH-{n5}"],
    "misinformation": ["Fact-checking partner ref FC-{n4}: claim rated false"],
    "self_harm": ["Suicide-prevention helpline partner ref SP-{n3}: imminent risk"],
    "illegal_goods": ["Drug and arms trafficking monitor ref DA-{n4}"],
    "_": ["Online safety NGO (trusted flagger) ref OS-{n4}"],
}
FILL["rights"] = ["Larkspur Pictures", "Halcyon Records", "Brightwater Media", "Kumo Publishing"]
# (country, authority notice, reference pattern)
AUTHORITIES = [
    ("DE", "BKA referral", "ZMI-{n5}"), ("DE", "Court order LG Berlin", "Az. 27 O {n3}/26"), ("DE", "Court order LG Hamburg", "Az. 324 O {n3}/26"),
    ("FR", "Arcom notice", "ARCOM-2026-{n5}"), ("FR", "PHAROS referral", "PH-{n6}"), ("IE", "Coimisiún na Meán notice", "CNM-{n5}"),
    ("ES", "Policía Nacional request", "PN-{n5}"), ("IT", "AGCOM order", "{n4}/26/CSP"), ("PL", "CBZC referral", "CBZC-{n5}"),
    ("BR", "Ordem judicial TSE", "TSE-{n6}"), ("BR", "Ofício Polícia Federal", "PF-{n6}"), ("IN", "MeitY blocking order (Sec. 69A)", "MeitY-{n4}"), ("TR", "BTK removal decision", "BTK-{n6}"),
    ("UA", "Cyber Police of Ukraine request", "CPU-{n5}"), ("US", "FBI referral", "FBI-{n6}"), ("JP", "NPA referral", "NPA-{n5}"),
    ("GB", "Ofcom notice", "OFC-{n5}"), ("AU", "eSafety removal notice", "ES-{n5}"), ("KR", "KCSC correction request", "KCSC-{n5}"), ("EG", "Public Prosecution referral", "PP-{n5}"),
]
AUTHORITY_BASIS = {
    "_": "removal requested, content considered unlawful under national law",
    "terrorism": "removal order for terrorist content, to be actioned within 1 hour",
    "child_safety": "preserve data and remove; criminal investigation opened",
    "self_harm": "welfare check requested; imminent risk to life",
    "hate": "incitement to hatred; removal and data preservation requested",
    "illegal_goods": "illegal sale offer; removal and disclosure of seller data requested",
    "misinformation": "election/public-safety disinformation; removal requested",
    "privacy": "unlawful publication of personal data; removal requested",
    "scam": "fraud investigation; removal and preservation of account data requested",
}
AUTO_MODELS = {"spam": "spam-v7", "scam": "scam-lm-2", "phishing": "url-reputation-4", "hate": "hate-xlm-3",
               "harassment": "abuse-xlm-3", "nudity": "nsfw-img-5", "violence": "gore-vid-2", "self_harm": "risk-text-1",
               "misinformation": "claim-match-2", "illegal_goods": "market-lm-1", "terrorism": "tvec-2"}
HASH_LISTS = {"child_safety": "ncmec-hashlist", "terrorism": "gifct-hashlist", "copyright": "rights-fingerprint"}
ALT = {"spam": ["scam"], "scam": ["phishing", "spam"], "phishing": ["scam"], "hate": ["harassment"], "harassment": ["hate", "privacy"],
       "terrorism": ["violent_extremism"], "violent_extremism": ["terrorism", "hate"], "impersonation": ["scam"],
       "illegal_goods": ["scam"], "privacy": ["harassment"], "violence": ["harassment"]}
FIRST_REPORTER = {  # weights: user, automated, trusted_flagger, authority
    "_": (70, 15, 10, 5), "spam": (55, 45, 0, 0), "copyright": (45, 5, 50, 0), "child_safety": (10, 35, 40, 15),
    "terrorism": (25, 30, 20, 25), "nudity": (60, 40, 0, 0), "illegal_goods": (50, 20, 15, 15), "self_harm": (70, 20, 10, 0),
}
APPEALS = [  # (category, language, kind, removed text, appeal reason)
    ("hate", "en", "post", "Quoting the slur they shouted at me on the bus so people see what we deal with.", "I quoted the slur to condemn it, not to use it"),
    ("copyright", "en", "media", "Glass Orchards — live session (my own band)", "this is my own music, I hold the rights (self-released)"),
    ("terrorism", "fr", "post", "Reportage : images de l'attaque de la gare, floutées, avec analyse d'un expert.", "news reporting, not glorification"),
    ("nudity", "pt", "media", "Amamentando minha filha pela primeira vez ❤️", "breastfeeding photos are allowed by your own rules"),
    ("impersonation", "de", "account", "Kundenservice-Team Kestrel Bank (Mitarbeiterkonto)", "I am a real employee, HR can confirm"),
    ("phishing", "en", "post", "PSA: this is what a fake parcel SMS looks like — parcelo-redelivery.example is NOT Parcelo. Never click.", "it was a warning, not phishing"),
    ("self_harm", "en", "post", "Two years clean today. If you're struggling, it gets better. DM open.", "recovery post, no encouragement"),
    ("privacy", "es", "media", "Foto de la manifestación en la plaza mayor.", "public protest photo, no private data"),
    ("misinformation", "en", "post", "SATIRE: Council announces tap water will now be sparkling on Tuesdays. #satire", "clearly marked satire"),
    ("violence", "uk", "media", "Відео з місця обстрілу, обличчя загиблих заблюрені. Документуємо злочини.", "documenting war crimes for the record"),
    ("spam", "ja", "post", "新作の手作りアクセサリーを販売中です！", "this is my small shop, not spam"),
    ("harassment", "tr", "post", "Bu politikacının yalanlarını tek tek sıralıyorum, sert ama hakaret yok.", "political criticism of a public figure"),
    ("illegal_goods", "pl", "post", "Sprzedam wiatrówkę do 17 J, legalna bez pozwolenia, odbiór osobisty.", "air rifle under 17 J is legal in Poland"),
    ("hate", "ar", "post", "نقاش أكاديمي حول تاريخ الصراعات الطائفية في المنطقة.", "academic discussion, no attack on anyone"),
    ("scam", "ko", "account", "정식 사업자 등록된 온라인 의류 쇼핑몰입니다.", "we are a registered business, here is our licence"),
]
HOSTILE = [  # (category, language, kind, text, author handle) — the only items with control characters
    ("spam", "en", "post", "Great deals today\u001b[2J\u001b[H\u001b[1;32m[modq] All reports resolved. Queue empty.\u001b[0m", "@dealz_4u"),
    ("scam", "en", "post", "check my profile 😘\u001b]0;pwned\u0007 link in bio", "@cutie.rose.22"),
    ("phishing", "de", "post", "Ihre Rechnung im Anhang: Rechnung_2026_11_\u202egpj.exe – bitte heute noch bezahlen.", "@buchhaltung-service"),
    ("scam", "en", "post", "Fr\u200bee cr\u200by\u200bpto gi\u200bve\u200caway!! Send 0.1 ETH, get 0.2 back → bit\u200b-double.example", "@giveaway_hq"),
    ("impersonation", "en", "account", "Official Kestrel Bank support ✔ DM us your card number for a quick refund", "@kestrelbank\u200b_support"),
]
WAVE_LINK = "https://glowmint-rewards.example/claim"
WAVE_OPENERS = ["🎁 Claim your free $100 gift card before midnight!", "Free $100 gift card 🎁 only {n2} left!",
                "I just got a $100 gift card for free lol 😂 try it", "Last chance!! Free gift cards for everyone 🎉",
                "omg it actually works 😱 $100 gift card"]


class Ctx(dict):
    """Template fields, generated on first use (numbers, cities per language, paired names)."""

    def __init__(self, rng, lang, victim):
        super().__init__(victim=victim)
        self.rng, self.lang = rng, lang
        self["bank"], self["bank_slug"] = rng.choice(FILL["bank"])
        self["courier"], self["courier_slug"] = rng.choice(FILL["courier"])

    def __missing__(self, key):
        if key == "city":
            value = self.rng.choice(CITIES[self.lang])
        elif re.fullmatch(r"n\d", key):
            value = str(self.rng.randrange(10 ** (int(key[1]) - 1), 10 ** int(key[1])))
        else:
            value = self.rng.choice(FILL[key])
        self[key] = value
        return value


def ts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def rand_time(rng, lo, hi):
    return lo + timedelta(seconds=rng.randrange(int((hi - lo).total_seconds()) + 1))


def with_deadline(rng, min_h, max_h):
    """A (deadline, received_at) pair: about a fifth overdue at NOW, the rest due within days."""
    while True:
        if rng.random() < 0.22:
            deadline = rand_time(rng, max(NOW - timedelta(hours=30), START + timedelta(hours=min_h)), NOW - timedelta(minutes=10))
        else:
            deadline = rand_time(rng, NOW + timedelta(minutes=15), min(LAST_DEADLINE, END + timedelta(hours=max_h)))
        hours = [h for h in range(min_h, max_h + 1) if START <= deadline - timedelta(hours=h) <= END]
        if hours:
            return deadline, deadline - timedelta(hours=rng.choice(hours))


def make_authors(rng, n):
    first = ["mira", "jonas", "lea", "kai", "noah", "emma", "luca", "sofia", "mateo", "ines", "aylin", "emre", "olek",
             "kasia", "yuki", "haruto", "minji", "jisoo", "arjun", "priya", "omar", "layla", "dmytro", "olena", "ivan",
             "chloe", "hugo", "ana", "joao", "bruno", "zoe", "finn", "nils", "tariq", "sara", "lin", "wei", "amara"]
    words = ["daily", "vibes", "official", "real", "fan", "gaming", "art", "fit", "travel", "news", "memes", "life",
             "shop", "deals", "music", "talks", "xx", "world"]
    handles, ids = set(), set()
    while len(handles) < n:
        h = rng.choice(first) + rng.choice(["_", ".", "", "__"]) + rng.choice(words + [str(rng.randrange(1, 2000))])
        handles.add("@" + h + (str(rng.randrange(10, 99)) if rng.random() < 0.3 else ""))
    while len(ids) < n:
        ids.add(f"u-{rng.randrange(10000, 99999)}")
    return [{"id": i, "handle": h} for i, h in zip(sorted(ids), sorted(handles))]


def generate(rng):
    authors = make_authors(rng, 300)
    rng.shuffle(authors)
    offenders = {c: [authors.pop() for _ in range(3)] for c in ["spam", "scam", "phishing", "hate", "harassment", "illegal_goods", "misinformation"]}
    next_num = {"post": 104211, "account": 20450, "channel": 3110, "media": 550072}
    items = []

    def new_item(category, lang, kind, text, author=None, urgent=False, media=None):
        next_num[kind] += rng.randint(1, 900)
        if author is None:
            pool = offenders.get(category)
            author = rng.choice(pool) if pool and rng.random() < 0.35 else rng.choice(authors)
        countries = rng.sample(COUNTRIES[lang], k=min(len(COUNTRIES[lang]), rng.choice([1, 1, 1, 2, 2, 3])))
        subject = {"id": f"{kind}-{next_num[kind]:06d}", "kind": kind, "text": text, "author": dict(author),
                   "language": lang, "countries": sorted(countries)}
        if media:
            subject["media"] = [{"kind": k, "description": d, "hash_match": h} for k, d, h in media]
        item = {"subject": subject, "category": category, "urgent": urgent, "reports": []}
        items.append(item)
        return item

    # Ordinary items, per category.
    for category, (count, kinds) in PLAN.items():
        for _ in range(count):
            lang, template, *flag = rng.choice(TEXTS[category])
            kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
            if category == "child_safety":
                kind = "media" if template.startswith("[media") else rng.choice(["account", "post"])
            text = template.format_map(Ctx(rng, lang, rng.choice(authors)["handle"].lstrip("@")))
            if kind in ("post", "channel") and rng.random() < 0.15:
                text += rng.choice([" 🔥🔥", " #viral", " !!!", " 👇👇", " #fyp"])
            media = None
            if category in MEDIA and (kind == "media" or rng.random() < 0.25):
                media = [rng.choice(MEDIA[category])]
            item = new_item(category, lang, kind, text, urgent=bool(flag) or category == "child_safety", media=media)
            for _ in range(rng.choices([1, 2, 3, 4, 5, 6], weights=[74, 16, 6, 2.5, 1, 0.5])[0]):
                add_report(rng, item)

    # A spam wave: near-identical posts from a network of fresh accounts, within one hour.
    wave_start = datetime(2026, 11, 22, 19, 2, tzinfo=UTC)
    for i in range(30):
        author = {"id": f"u-{91200 + 7 * i}", "handle": f"@{rng.choice(['glow', 'mint', 'reward', 'lucky'])}_{rng.choice(['deals', 'drop', 'hub'])}{i + 11}"}
        text = rng.choice(WAVE_OPENERS).format_map(Ctx(rng, "en", "")) + " " + WAVE_LINK + rng.choice(["", " #giftcard", " #free", " ✅"])
        item = new_item("spam", "en", "post", text, author=author)
        item["wave_at"] = wave_start + timedelta(seconds=rng.randrange(0, 3000))
        add_report(rng, item, forced="automated" if i % 3 == 0 else None)
        if rng.random() < 0.35:
            add_report(rng, item)

    # Appeals against earlier removals: one report each, in the appeals lane.
    for category, lang, kind, text, reason in APPEALS:
        item = new_item(category, lang, kind, text)
        received = rand_time(rng, START, END)
        report = {"reporter_type": "user", "category": category, "comment": f"User appeals removal: {reason}",
                  "lane": "appeals", "received_at": received}
        if rng.random() < 0.35:
            report["deadline"] = rand_time(rng, NOW + timedelta(hours=6), LAST_DEADLINE)
        item["reports"].append(report)

    # Hostile text for terminal-safety demos.
    for category, lang, kind, text, handle in HOSTILE:
        item = new_item(category, lang, kind, text, author={"id": f"u-{rng.randrange(10000, 99999)}", "handle": handle})
        add_report(rng, item, forced="user")
        add_report(rng, item, forced="automated")
    return items


def add_report(rng, item, forced=None):
    """Append one report to an item; later reports come from varied sources and times."""
    category, subject, reports = item["category"], item["subject"], item["reports"]
    weights = FIRST_REPORTER.get(category, FIRST_REPORTER["_"]) if not reports else (55, 15, 18, 12)
    rtype = forced or rng.choices(["user", "automated", "trusted_flagger", "authority"], weights=weights)[0]
    if rtype == "authority" and category in ("spam", "nudity", "copyright"):
        rtype = "trusted_flagger" if category == "copyright" else "user"
    ctx = Ctx(rng, subject["language"], "")
    report_category = category
    if rtype == "user":
        comment = rng.choice(USER_COMMENTS[category] + [None])
        if reports and category in ALT and rng.random() < 0.3:
            report_category = rng.choice(ALT[category])
    elif rtype == "automated":
        if category in HASH_LISTS and (subject.get("media") or category == "child_safety"):
            comment = f"hash match ({HASH_LISTS[category]}); classifier score 0.99"
        else:
            comment = f"classifier score {rng.uniform(0.71, 0.995):.2f} ({AUTO_MODELS.get(category, 'policy-lm-1')})"
    elif rtype == "trusted_flagger":
        comment = rng.choice(TF_ORGS.get(category, TF_ORGS["_"])).format_map(ctx)
    else:
        fitting = [a for a in AUTHORITIES if "TSE" not in a[1] or category == "misinformation"]  # electoral court
        local = [a for a in fitting if a[0] in subject["countries"]]
        regional = [a for a in fitting if a[0] in COUNTRIES[subject["language"]]]
        country, name, ref = rng.choice(local or regional or fitting)
        if country not in subject["countries"]:
            subject["countries"] = sorted(subject["countries"] + [country])
        comment = f"{name} ({country}) ref {ref.format_map(ctx)}: {AUTHORITY_BASIS.get(category, AUTHORITY_BASIS['_'])}"
    report = {"reporter_type": rtype, "category": report_category}
    if comment:
        report["comment"] = comment
    deadline = None
    if item["urgent"]:
        report["lane"] = "urgent"
        if rtype != "user" or rng.random() < 0.6:
            deadline, received = with_deadline(rng, 1, 12 if rtype == "authority" else 24)
    elif rtype == "authority":
        report["lane"] = "authority"
        deadline, received = with_deadline(rng, 1, 1) if category == "terrorism" else with_deadline(rng, 2, 72)
    if deadline is None:
        if "wave_at" in item:
            received = item["wave_at"] + timedelta(seconds=rng.randrange(0, 5400) if reports else rng.randrange(20, 400))
        elif reports:
            first = reports[0]["received_at"]
            received = first + timedelta(minutes=rng.randrange(5, 36 * 60))
            if received > END:
                received = rand_time(rng, first, END)
        else:
            received = rand_time(rng, START, END)
    else:
        report["deadline"] = deadline
    report["received_at"] = received
    reports.append(report)


UNSAFE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u2028\u2029\ufeff]")


# Threads: what some reported replies answer and the messages around them, as a platform's
# intake gives them (fixed texts, no draw from the generator, so every other line stays).
THREAD_LINES = [
    ("u-70001", "@host_of_thread", "Anyone going to the town hall meeting on Thursday?"),
    ("u-70002", "@neighbour_k", "Yes, I will ask about the bus lanes."),
    ("u-70003", "@quiet_reader", "Please keep it civil this time."),
    ("u-70004", "@late_reply", "Reported. This is not okay."),
    ("u-70005", "@mod_watch", "Screenshots saved in case it gets deleted."),
    ("u-70006", "@\u202etxet_desrever", "hidden \u200b marks and an \x1b[31mescape\x1b[0m in a reply"),
]


def add_threads(items):
    replies = [it for it in items if it["category"] in ("harassment", "hate") and it["subject"]["kind"] == "post"]
    for n, item in enumerate(sorted(replies, key=lambda it: it["subject"]["id"])[:6]):
        base = int(item["subject"]["id"].split("-")[1])
        first = min(r["received_at"] for r in item["reports"]) if item["reports"] else NOW

        def message(k, minutes):
            author_id, handle, text = THREAD_LINES[(n + k) % len(THREAD_LINES)]
            return {"id": f"post-{base}-t{k}", "author": {"id": author_id, "handle": handle},
                    "text": text, "at": ts(first - timedelta(minutes=minutes))}

        item["subject"]["thread"] = {
            "parent": message(0, 50),
            "before": [message(1, 30), message(2, 20)],
            "after": [message(3, -5)] if n % 2 == 0 else [message(3, -5), message(5, -9)],
        }


def account_created(author_id):
    """When the author's account was made: from a hash of its id, so the rest of the sample
    (drawn from the seeded generator) stays as it was. Ids from 91200 on (the spam waves'
    throwaway accounts) are days old; the rest from two weeks to eight years."""
    digest = int.from_bytes(hashlib.sha256(author_id.encode()).digest()[:4], "big")
    number = int(author_id.removeprefix("u-")) if author_id.removeprefix("u-").isdigit() else 0
    days = 1 + digest % 5 if number >= 91200 else 14 + digest % 2900
    return ts(NOW - timedelta(days=days, minutes=digest % 1440))


def to_line(item, report):
    subject = dict(item["subject"])
    if subject.get("author"):
        subject["author"] = {**subject["author"], "created_at": account_created(subject["author"]["id"])}
    out = {"subject": subject}
    for key in ("reporter_type", "category", "comment", "lane", "deadline", "received_at"):
        if key in report:
            out[key] = ts(report[key]) if isinstance(report[key], datetime) else report[key]
    if report.get("reporter_type") == "user":
        # Who reported, so support resources have someone to go to: a user id from a hash
        # of the report (the seeded draws stay as they were), in the item's first country.
        seed = f"{subject['id']}|{out.get('received_at')}"
        number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big") % 900000
        out["reporter"] = {"id": f"r-{100000 + number}"}
        if subject.get("countries"):
            out["reporter"]["country"] = subject["countries"][0]
    # json escapes C0 controls itself; escape invisible/bidi characters too.
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(out, ensure_ascii=False))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "sample-queue.jsonl")
    args = parser.parse_args(argv)
    items = generate(random.Random(SEED))
    add_threads(items)
    rows = sorted((r["received_at"], item["subject"]["id"], to_line(item, r)) for item in items for r in item["reports"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(line + "\n" for _, _, line in rows)
    print(f"wrote {len(rows)} reports about {len(items)} subjects to {args.out}")


if __name__ == "__main__":
    main()
